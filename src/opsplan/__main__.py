from opsplan.cli.main import main

main()
