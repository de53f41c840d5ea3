// Swagger UI for opsplan's own schema; a file, not an inline script, so the page's CSP allows no inline code.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    // The schema labelled OpenAPI 3.0 (web/api_docs.py): this Swagger UI (4.15) does not render 3.1.
    url: "/api/docs/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null
  });
});
