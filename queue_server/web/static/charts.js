// Hand-made SVG charts for the manager dashboard (no chart library: the page policy allows
// only this server's own scripts, and these charts need little).
//
//   const figure = WalkinCharts.bars({
//     id: "chart-by-hour",                   // optional: the figure's id
//     title: "Visitors by hour",            // the figure's caption, and the SVG's name
//     summary: "Most visitors came at 10:00.",  // optional: one sentence under the caption
//     categories: ["09", "10", ...],         // one group of bars per category
//     series: [{name: "Issued", values: [3, 7, ...]}],  // null = no figure (no bar drawn)
//     format: (v) => `${v}`,                 // a value as the table and labels show it
//     axisFormat: (v) => `${v}`,             // an axis tick (default: format)
//     max: 1,                                // optional fixed top of the scale (shares)
//     target: {value: 0.05, label: "Target: below 5%"},  // optional dashed line
//     horizontal: false,                     // true: one row per category (long names)
//     integer: true,                         // counts: whole-number ticks only
//     categoryHeading: "Hour",               // the data table's first column heading
//   });
//   container.append(figure);
//
// Each chart is a <figure>: its caption, the SVG (role="img", named by the caption), a
// legend when there is more than one series, and a <details> holding the same figures as
// a table (the text alternative). Series differ by colour AND fill pattern (solid,
// hatched, dotted), so colour is never the only difference.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  //: a horizontal chart's category label: characters a line (about 220 px at its size)
  const LABEL_CHARS = 30;
  //: one look per series: colour (3:1 or more against white) and a fill pattern
  const LOOKS = [
    { colour: "#1d70b8", pattern: "solid" },
    { colour: "#912b88", pattern: "hatch" },
    { colour: "#00703c", pattern: "dots" },
    { colour: "#b35200", pattern: "cross" },
  ];
  let nextId = 1;

  function svg(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function html(tag, attributes = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The fill of series `index`: its colour, or a pattern in its colour defined in `defs`.
  function fillFor(index, defs, prefix) {
    const look = LOOKS[index % LOOKS.length];
    if (look.pattern === "solid") return look.colour;
    const id = `${prefix}-p${index}`;
    const pattern = svg("pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse" });
    pattern.append(svg("rect", { width: 6, height: 6, fill: "#ffffff" }));
    if (look.pattern === "hatch") {
      pattern.setAttribute("patternTransform", "rotate(45)");
      pattern.append(svg("rect", { width: 3.5, height: 6, fill: look.colour }));
    } else if (look.pattern === "dots") {
      pattern.append(svg("rect", { width: 6, height: 6, fill: look.colour, "fill-opacity": 0.35 }));
      pattern.append(svg("circle", { cx: 3, cy: 3, r: 2, fill: look.colour }));
    } else {
      pattern.append(svg("path", { d: "M0 0L6 6M6 0L0 6", stroke: look.colour, "stroke-width": 2 }));
    }
    defs.append(pattern);
    return `url(#${id})`;
  }

  // A round top for the scale and its ticks: 0, step, 2 step ... >= max.
  function scale(max, fixedMax, integer) {
    if (fixedMax !== undefined && fixedMax !== null) {
      const step = fixedMax / 4;
      return { top: fixedMax, ticks: [0, 1, 2, 3, 4].map((i) => i * step) };
    }
    if (!(max > 0)) return { top: 1, ticks: [0, 1] };
    const rough = max / 4;
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
    if (integer) step = Math.max(1, Math.ceil(step));
    const top = Math.ceil(max / step) * step;
    const ticks = [];
    for (let v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
    return { top, ticks };
  }

  function tableOf(options) {
    const table = html("table", { class: "chart-table" });
    const head = table.createTHead().insertRow();
    head.append(html("th", { scope: "col" }, options.categoryHeading || ""));
    for (const series of options.series) head.append(html("th", { scope: "col" }, series.name));
    const body = table.createTBody();
    options.categories.forEach((category, i) => {
      const row = body.insertRow();
      row.append(html("th", { scope: "row" }, category));
      for (const series of options.series) {
        const value = series.values[i];
        const cell = row.insertCell();
        cell.textContent = value === null || value === undefined ? "no data" : options.format(value);
      }
    });
    return table;
  }

  function legendOf(options, swatches) {
    const list = html("ul", { class: "chart-legend" });
    options.series.forEach((series, i) => {
      const item = html("li");
      const box = svg("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true", focusable: "false" });
      const defs = svg("defs");
      box.append(defs);
      box.append(svg("rect", { x: 0.5, y: 0.5, width: 13, height: 13, fill: fillFor(i, defs, swatches), stroke: "#0b0c0c" }));
      item.append(box, document.createTextNode(` ${series.name}`));
      list.append(item);
    });
    if (options.target) {
      const item = html("li");
      const line = svg("svg", { width: 18, height: 14, viewBox: "0 0 18 14", "aria-hidden": "true", focusable: "false" });
      line.append(svg("line", { x1: 0, y1: 7, x2: 18, y2: 7, class: "chart-target" }));
      item.append(line, document.createTextNode(` ${options.target.label}`));
      list.append(item);
    }
    return list;
  }

  function verticalBars(options, defs, prefix) {
    const width = 640;
    const height = 240;
    const left = 52, right = 12, top = 14, bottom = 34;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const all = options.series.flatMap((s) => s.values).filter((v) => typeof v === "number");
    const { top: topValue, ticks } = scale(Math.max(0, ...all, options.target ? options.target.value : 0), options.max, options.integer);
    const y = (v) => top + plotHeight - (v / topValue) * plotHeight;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
    chart.append(defs);
    const axisFormat = options.axisFormat || options.format;
    for (const tick of ticks) {
      chart.append(svg("line", { x1: left, x2: width - right, y1: y(tick), y2: y(tick), class: tick === 0 ? "chart-axis" : "chart-gridline" }));
      chart.append(svg("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end", class: "chart-tick" }, axisFormat(tick)));
    }
    const n = Math.max(1, options.categories.length);
    const band = plotWidth / n;
    const groupWidth = band * (n > 40 ? 0.9 : 0.75);
    const barWidth = groupWidth / options.series.length;
    // label every k-th category so the labels never overlap (about 34 px each)
    const every = Math.max(1, Math.ceil(34 / band));
    const fills = options.series.map((_, i) => fillFor(i, defs, prefix));
    options.categories.forEach((category, i) => {
      const x0 = left + band * i + (band - groupWidth) / 2;
      options.series.forEach((series, s) => {
        const value = series.values[i];
        if (typeof value !== "number") return;
        const bar = svg("rect", {
          x: x0 + s * barWidth,
          y: y(value),
          width: Math.max(1, barWidth - (barWidth > 4 ? 1 : 0)),
          height: Math.max(0, y(0) - y(value)),
          fill: fills[s],
          class: "chart-bar",
        });
        bar.append(svg("title", {}, `${category}, ${series.name}: ${options.format(value)}`));
        chart.append(bar);
      });
      if (i % every === 0) {
        chart.append(svg("text", { x: left + band * i + band / 2, y: height - bottom + 16, "text-anchor": "middle", class: "chart-tick" }, category));
      }
    });
    if (options.target) {
      chart.append(svg("line", { x1: left, x2: width - right, y1: y(options.target.value), y2: y(options.target.value), class: "chart-target" }));
    }
    return chart;
  }

  // A category's name in lines of at most `max` characters, broken between words (a word
  // longer than a line is broken inside): long service names are shown whole, never cut.
  function wrapLabel(text, max = LABEL_CHARS) {
    const lines = [];
    let line = "";
    for (let word of text.split(/\s+/).filter(Boolean)) {
      while (word.length > max) {
        if (line) { lines.push(line); line = ""; }
        lines.push(word.slice(0, max - 1) + "-");
        word = word.slice(max - 1);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= max) line += ` ${word}`;
      else { lines.push(line); line = word; }
    }
    if (line || !lines.length) lines.push(line);
    return lines;
  }

  function horizontalBars(options, defs, prefix) {
    const width = 640;
    const barsHeight = 10 + 16 * options.series.length;
    const labelWidth = 230, right = 110, top = 6, lineHeight = 15;
    const labels = options.categories.map((category) => wrapLabel(category));
    const rowHeights = labels.map((lines) => Math.max(barsHeight, 6 + lineHeight * lines.length));
    const height = top + (rowHeights.reduce((a, b) => a + b, 0) || barsHeight) + 8;
    const plotWidth = width - labelWidth - right;
    const all = options.series.flatMap((s) => s.values).filter((v) => typeof v === "number");
    const { top: topValue } = scale(Math.max(0, ...all, options.target ? options.target.value : 0), options.max, options.integer);
    const x = (v) => labelWidth + (v / topValue) * plotWidth;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
    chart.append(defs);
    const fills = options.series.map((_, i) => fillFor(i, defs, prefix));
    let y0 = top;
    options.categories.forEach((category, i) => {
      const rowHeight = rowHeights[i];
      const lines = labels[i];
      const firstLine = y0 + rowHeight / 2 + 4 - ((lines.length - 1) * lineHeight) / 2;
      const label = svg("text", { x: labelWidth - 8, y: firstLine, "text-anchor": "end", class: "chart-label" });
      lines.forEach((text, n) => {
        label.append(svg("tspan", { x: labelWidth - 8, dy: n ? lineHeight : 0 }, text));
      });
      chart.append(label);
      const barsTop = y0 + (rowHeight - barsHeight) / 2;
      options.series.forEach((series, s) => {
        const value = series.values[i];
        const barY = barsTop + 5 + s * 16;
        if (typeof value !== "number") {
          chart.append(svg("text", { x: labelWidth + 4, y: barY + 11, class: "chart-value" }, "no data"));
          return;
        }
        const bar = svg("rect", { x: labelWidth, y: barY, width: Math.max(value > 0 ? 1 : 0, x(value) - labelWidth), height: 13, fill: fills[s], class: "chart-bar" });
        bar.append(svg("title", {}, `${category}, ${series.name}: ${options.format(value)}`));
        chart.append(bar);
        chart.append(svg("text", { x: x(value) + 6, y: barY + 11, class: "chart-value" }, options.format(value)));
      });
      y0 += rowHeight;
    });
    chart.append(svg("line", { x1: labelWidth, x2: labelWidth, y1: top, y2: height - 8, class: "chart-axis" }));
    if (options.target) {
      const tx = x(options.target.value);
      chart.append(svg("line", { x1: tx, x2: tx, y1: top, y2: height - 8, class: "chart-target" }));
    }
    return chart;
  }

  function bars(options) {
    const prefix = `chart${nextId++}`;
    const figure = html("figure", { class: "chart-figure" });
    if (options.id) figure.id = options.id;
    const caption = html("figcaption", { id: `${prefix}-caption`, class: "chart-caption" }, options.title);
    figure.append(caption);
    if (options.summary) figure.append(html("p", { class: "chart-summary", id: `${prefix}-summary` }, options.summary));
    const defs = svg("defs");
    const chart = options.horizontal ? horizontalBars(options, defs, prefix) : verticalBars(options, defs, prefix);
    chart.setAttribute("aria-labelledby", `${prefix}-caption`);
    if (options.summary) chart.setAttribute("aria-describedby", `${prefix}-summary`);
    figure.append(chart);
    if (options.series.length > 1 || options.target) figure.append(legendOf(options, `${prefix}-legend`));
    const details = html("details", { class: "chart-details" });
    details.append(html("summary", {}, `Table: ${options.title}`), tableOf(options));
    figure.append(details);
    return figure;
  }

  window.WalkinCharts = { bars, scale, wrapLabel };
})();
