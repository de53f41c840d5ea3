/* The Metrics page (web/console/charts.py): each <figure data-chart> is fetched from /api/v1/query
 * and drawn with the vendored uPlot; the plan's thresholds are dashed series with their own legend
 * entries; a text summary (last value, min, max over the range) is written under each chart, so
 * the canvas is never the only way to read it. No inline script (the page's CSP): the page's data
 * comes in data- attributes. */
(function () {
  "use strict";

  // --- values, written as src/opsplan/web/console/chart_specs.py `shown` writes them ---------------
  // (tests/e2e/test_console_charts.py compares the two on the same values)
  function trimZeros(text) {
    return text.indexOf(".") >= 0 ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }
  function grouped(text) {  // "-1234567.5" -> "-1,234,567.5", as Python's "{:,}"
    const negative = text.charAt(0) === "-";
    const parts = (negative ? text.slice(1) : text).split(".");
    const whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + whole + (parts.length > 1 ? "." + parts[1] : "");
  }
  function figure(n) {  // format.figure
    if (!isFinite(n)) return String(n);
    if (n === Math.trunc(n)) return grouped(Math.trunc(n).toFixed(0));
    const digits = Math.abs(n) >= 1000 ? 0 : Math.min(12, 3 - Math.floor(Math.log10(Math.abs(n))));
    return trimZeros(grouped(n.toFixed(Math.max(digits, 1))));
  }
  function decimal(value, precision, lang) {  // format._decimal
    const text = value.toFixed(precision);
    return lang === "ko" ? trimZeros(text) : text;
  }
  function percent(ratio, lang) {  // format.percent
    return decimal(ratio * 100, 1, lang) + "%";
  }
  function sizeShort(value) {  // format.size_short
    const units = ["B", "KB", "MB", "GB", "TB"];
    let number = value;
    let i = 0;
    while (!(Math.abs(number) < 999.5 || i === units.length - 1)) {
      number /= 1000;
      i += 1;
    }
    const digits = Math.abs(number) >= 100 || i === 0 ? 0 : Math.abs(number) >= 10 ? 1 : 2;
    return trimZeros(grouped(number.toFixed(digits))) + " " + units[i];
  }
  function roundTo(value, places) {
    const scale = Math.pow(10, places);
    return Math.round(value * scale) / scale;
  }
  function span(value) {  // format.span, under a minute
    if (Math.abs(value) < 1) return figure(roundTo(value * 1000, 2)) + " ms";
    return figure(roundTo(value, 1)) + " s";
  }
  const DURATION_UNITS = {en: ["d", "h", "m", "s"], ko: ["일", "시간", "분", "초"]};
  function duration(value, lang) {  // format.duration, a minute or more
    const names = DURATION_UNITS[lang] || DURATION_UNITS.en;
    let whole = Math.round(value);
    const parts = [];
    [86400, 3600, 60, 1].forEach(function (size, i) {
      const count = Math.floor(whole / size);
      whole -= count * size;
      if (count) parts.push(count + names[i]);
    });
    return parts.join(" ");
  }
  function format(unit, value, lang) {
    if (value === null || value === undefined || !isFinite(value)) return "-";
    switch (unit) {
      case "ratio": return percent(value, lang);
      case "bytes": return sizeShort(value);
      case "seconds": return Math.abs(value) < 60 ? span(value) : duration(value, lang);
      case "celsius": return value.toFixed(0) + "°C";
      case "rate": return figure(value) + " req/s";
      default: return figure(value);
    }
  }

  // --- times, in the plan's timezone ----------------------------------------------------------------
  const clocks = {};
  function clockParts(ts, tz) {
    if (!clocks[tz]) {
      clocks[tz] = new Intl.DateTimeFormat("en-GB", {
        timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
        minute: "2-digit", second: "2-digit", hourCycle: "h23"});
    }
    const out = {};
    clocks[tz].formatToParts(new Date(ts * 1000)).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  function localTime(ts, page) {  // '2026-11-30 10:05:16 KST', as format.local_time(zone_name=True)
    const p = clockParts(ts, page.timezone);
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second +
      (page.zone ? " " + page.zone : "");
  }
  function tick(ts, page) {  // the time axis: hours within a day, dates beyond
    const p = clockParts(ts, page.timezone);
    if (page.seconds <= 86400) return p.hour + ":" + p.minute;
    return p.month + "-" + p.day + (p.hour === "00" && p.minute === "00" ? "" : " " + p.hour + ":" + p.minute);
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  // --- data -----------------------------------------------------------------------------------------
  function fetchQuery(query, page) {
    const params = new URLSearchParams();
    params.append("metric", query.metric);
    query.match.forEach(function (m) { params.append("match", m); });
    params.append("start", page.start);
    params.append("step", String(page.step));
    return fetch("/api/v1/query?" + params.toString(), {credentials: "same-origin"}).then(function (answer) {
      if (!answer.ok) {
        const error = new Error("HTTP " + answer.status);
        error.status = answer.status;
        throw error;
      }
      return answer.json();
    });
  }

  // Each returned series as {label, xs, ys (bucket means), mins, maxs, last, lastAt}.
  function seriesOf(query, answer) {
    return answer.series.map(function (s) {
      const pts = s.points;
      const named = query.label_by && s.labels[query.label_by];
      return {
        label: named ? (query.label + " " + named).trim() : query.label,
        xs: pts.map(function (p) { return p[0]; }),
        ys: pts.map(function (p) { return p[2]; }),
        mins: pts.map(function (p) { return p[1]; }),
        maxs: pts.map(function (p) { return p[3]; }),
        last: pts.length ? pts[pts.length - 1][4] : null,
        lastAt: pts.length ? pts[pts.length - 1][0] : null,
      };
    });
  }

  // Counters (CPU seconds per member) -> one series: the sum of their per-second rates (cores).
  function rateSum(series, label) {
    const sums = new Map();
    series.forEach(function (s) {
      for (let i = 1; i < s.xs.length; i++) {
        const dt = s.xs[i] - s.xs[i - 1];
        const grown = s.ys[i] - s.ys[i - 1];
        if (dt > 0 && grown >= 0) sums.set(s.xs[i], (sums.get(s.xs[i]) || 0) + grown / dt);  // < 0: a restart
      }
    });
    const xs = Array.from(sums.keys()).sort(function (a, b) { return a - b; });
    if (!xs.length) return [];
    const ys = xs.map(function (x) { return sums.get(x); });
    return [{label: label, xs: xs, ys: ys, mins: ys, maxs: ys, last: ys[ys.length - 1], lastAt: xs[xs.length - 1]}];
  }

  function summary(spec, series, page) {
    return series.map(function (s) {
      return fill(page.texts.summary, {
        name: s.label,
        value: format(spec.unit, s.last, page.lang),
        time: s.lastAt === null ? "-" : localTime(s.lastAt, page),
        low: format(spec.unit, Math.min.apply(null, s.mins), page.lang),
        high: format(spec.unit, Math.max.apply(null, s.maxs), page.lang),
      });
    });
  }

  // --- drawing --------------------------------------------------------------------------------------
  const PALETTE = ["#1a56db", "#0a7d2c", "#7e3af2", "#00838f", "#c2410c", "#4b5563"];
  const THRESHOLD = {warning: {stroke: "#b26b00", dash: [8, 4]}, critical: {stroke: "#b00020", dash: [3, 3]}};

  function draw(fig, spec, series, start, end, page) {
    const box = fig.querySelector(".plot");
    // Every series on one time axis, with the range's ends so threshold lines span the whole chart.
    const tables = [[[start, end], [null, null]]].concat(series.map(function (s) { return [s.xs, s.ys]; }));
    const joined = uPlot.join(tables);
    const xs = joined[0];
    const data = [xs].concat(joined.slice(2));
    const opts = {
      width: Math.max(box.clientWidth || fig.clientWidth - 20, 280),
      height: 200,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), page.timezone); },
      scales: {
        x: {time: true, range: function () { return [start, end]; }},
        y: {range: function (u, min, max) {
          const top = max > 0 ? max * 1.1 : 1;
          return [Math.min(0, min === null ? 0 : min), top];
        }},
      },
      series: [{label: page.texts.time, value: function (u, v) { return v === null ? "-" : localTime(v, page); }}],
      axes: [
        {values: function (u, splits) { return splits.map(function (v) { return tick(v, page); }); }},
        {size: 80, values: function (u, splits) {
          return splits.map(function (v) { return format(spec.unit, v, page.lang); });
        }},
      ],
      legend: {show: true},
    };
    series.forEach(function (s, i) {
      opts.series.push({
        label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2,
        value: function (u, v) { return format(spec.unit, v, page.lang); },
      });
    });
    spec.thresholds.forEach(function (th) {
      const look = THRESHOLD[th.severity] || THRESHOLD.warning;
      data.push(xs.map(function () { return th.value; }));
      opts.series.push({
        label: th.label, stroke: look.stroke, dash: look.dash, width: 1.5, points: {show: false},
        class: "threshold-series", value: function () { return format(spec.unit, th.value, page.lang); },
      });
    });
    box.replaceChildren();
    const chart = new uPlot(opts, data, box);
    chart.root.dataset.thresholds = String(spec.thresholds.length);
    const canvas = chart.root.querySelector("canvas");
    if (canvas) {
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", spec.title);
    }
    return chart;
  }

  function say(fig, kind, text) {
    const box = fig.querySelector(".plot");
    const p = document.createElement("p");
    p.className = kind;
    p.textContent = text;
    box.replaceChildren(p);
  }

  function writeSummary(fig, lines) {
    const out = fig.querySelector(".summary");
    out.replaceChildren.apply(out, lines.map(function (line) {
      const row = document.createElement("span");
      row.textContent = line;
      return row;
    }));
  }

  const charts = new Map();  // figure id -> uPlot, so a refresh replaces the old chart

  function load(fig, page) {
    const spec = JSON.parse(fig.dataset.chart);
    if (!charts.has(fig.id)) say(fig, "loading", page.texts.loading);
    return Promise.all(spec.queries.map(function (q) { return fetchQuery(q, page); })).then(function (answers) {
      let series = [];
      answers.forEach(function (answer, i) { series = series.concat(seriesOf(spec.queries[i], answer)); });
      series = series.filter(function (s) { return s.xs.length > 0; });
      if (spec.transform === "rate_sum") series = rateSum(series, spec.queries[0].label);
      const old = charts.get(fig.id);
      if (old) old.destroy();
      charts.delete(fig.id);
      if (!series.length) {
        say(fig, "empty", page.texts.empty);
        writeSummary(fig, spec.unmeasured ? [spec.unmeasured] : []);
        fig.dataset.state = "empty";
        return;
      }
      charts.set(fig.id, draw(fig, spec, series, answers[0].start, answers[0].end, page));
      writeSummary(fig, summary(spec, series, page));
      fig.dataset.state = "drawn";
    }).catch(function (error) {
      const old = charts.get(fig.id);
      if (old) old.destroy();
      charts.delete(fig.id);
      say(fig, "failed", fill(page.texts.failed, {status: error.status || "-"}));
      fig.dataset.state = "failed";
    });
  }

  function start() {
    const root = document.getElementById("charts");
    if (!root) return;
    const page = {
      lang: root.dataset.lang, timezone: root.dataset.timezone, zone: root.dataset.zone,
      start: root.dataset.start, step: Number(root.dataset.step), seconds: Number(root.dataset.seconds),
      texts: JSON.parse(root.dataset.texts),
    };
    const figures = Array.prototype.slice.call(root.querySelectorAll("figure[data-chart]"));
    const all = function () {
      return Promise.all(figures.map(function (f) { return load(f, page); })).then(function () {
        root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
      });
    };
    all();
    window.setInterval(all, Math.max(Number(root.dataset.refresh) || 60, 5) * 1000);
    window.addEventListener("resize", function () {
      charts.forEach(function (chart, id) {
        const box = document.getElementById(id).querySelector(".plot");
        chart.setSize({width: Math.max(box.clientWidth, 280), height: 200});
      });
    });
  }

  // For the browser test: the formatter (compared with format.py's) and the counters' rate.
  window.opsplanCharts = {format: format, rateSum: rateSum};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
