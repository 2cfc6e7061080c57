// inboxwatch dashboard: draws the overview charts with uPlot and applies live alert changes.
// The session cookie authenticates the fetches and the EventSource, so no token is handled here.
"use strict";

(function () {
  const COLORS = ["#2456c7", "#d1495b", "#00798c", "#edae49", "#66a182", "#8d6cab", "#c46d2b", "#3d405b", "#9aa0ac"];
  // Rates come as fractions; the charts show percentages.
  const PERCENT_METRICS = ["delivery_rate", "bounce_rate", "deferral_rate", "complaint_rate"];
  const charts = [];

  // Format one value for the legend: a dash for a gap, else a percentage or a count.
  function legendValue(value, percent) {
    if (value == null) {
      return "–";
    }
    if (percent) {
      return value.toFixed(2) + "%";
    }
    return value.toLocaleString();
  }

  // Scale rates to percentages and keep gaps (null) as gaps.
  function plotValue(value, percent) {
    if (value == null || !percent) {
      return value;
    }
    return value * 100;
  }

  function chartOptions(figure, data, metric) {
    const percent = PERCENT_METRICS.includes(metric);
    const series = [{}].concat(data.lines.map((line, index) => ({
      label: line.key || "(none)",
      stroke: COLORS[index % COLORS.length],
      width: 1.5,
      spanGaps: false,
      value: (u, v) => legendValue(v, percent),
    })));
    return {
      width: Math.max(figure.clientWidth - 16, 200),
      height: 200,
      series: series,
      axes: [{}, { size: 60, values: (u, values) => values.map(v => percent ? v + "%" : v.toLocaleString()) }],
      scales: { x: { time: true } },
      legend: { live: true },
    };
  }

  function chartData(data, metric) {
    const percent = PERCENT_METRICS.includes(metric);
    const columns = [data.times];
    for (const line of data.lines) {
      columns.push(line[metric].map(v => plotValue(v, percent)));
    }
    return columns;
  }

  function countPoints(columns) {
    let points = 0;
    for (const column of columns.slice(1)) {
      points += column.filter(v => v != null).length;
    }
    return points;
  }

  function drawCharts(data) {
    for (const chart of charts.splice(0)) {
      chart.destroy();
    }
    for (const figure of document.querySelectorAll(".chart")) {
      const metric = figure.dataset.metric;
      figure.textContent = "";
      const caption = document.createElement("figcaption");
      caption.textContent = figure.dataset.title;
      figure.appendChild(caption);
      const columns = chartData(data, metric);
      figure.dataset.points = String(countPoints(columns));
      if (data.lines.length === 0) {
        const empty = document.createElement("p");
        empty.className = "hint";
        empty.textContent = "No mail in this range.";
        figure.appendChild(empty);
        continue;
      }
      charts.push(new uPlot(chartOptions(figure, data, metric), columns, figure));
    }
    document.body.dataset.chartsReady = "true";
  }

  async function refreshCharts() {
    const container = document.getElementById("charts");
    const response = await fetch(container.dataset.api, { credentials: "same-origin" });
    if (response.ok) {
      drawCharts(await response.json());
    }
  }

  function describeChange(change) {
    const labels = Object.entries(change.labels).map(([name, value]) => name + "=" + value).join(" ");
    const actor = change.actor ? " by " + change.actor : "";
    return change.time.slice(0, 16).replace("T", " ") + " " + change.rule + " " + labels + " " +
      (change.from_state || "new") + " → " + change.to_state + actor;
  }

  function addRecentChange(change) {
    const list = document.getElementById("recent-changes");
    if (!list) {
      return;
    }
    const placeholder = list.querySelector(".hint");
    if (placeholder) {
      placeholder.remove();
    }
    const item = document.createElement("li");
    item.className = "new";
    item.textContent = describeChange(change);
    list.prepend(item);
  }

  async function refreshOpenCount() {
    const response = await fetch("/api/v1/alerts?state=open&limit=1000", { credentials: "same-origin" });
    const badge = document.getElementById("open-alert-count");
    if (response.ok && badge) {
      const count = (await response.json()).alerts.length;
      badge.textContent = String(count);
      badge.classList.toggle("hot", count > 0);
    }
  }

  async function refreshAlertsPage() {
    const response = await fetch("/alerts/live", { credentials: "same-origin" });
    const target = document.getElementById("alerts-live");
    if (response.ok && target) {
      // The fragment is rendered by the server with autoescaping, like the page it replaces.
      target.innerHTML = await response.text();
    }
  }

  function subscribe() {
    const status = document.getElementById("stream-status");
    const source = new EventSource("/api/v1/alerts/stream");
    source.onopen = () => { if (status) status.textContent = "Live updates: on"; };
    source.onerror = () => { if (status) status.textContent = "Live updates: reconnecting…"; };
    source.addEventListener("alert", (event) => {
      const change = JSON.parse(event.data);
      addRecentChange(change);
      refreshOpenCount();
      if (document.body.dataset.page === "alerts") {
        refreshAlertsPage();
      }
      if (document.getElementById("charts")) {
        refreshCharts();
      }
    });
  }

  function start() {
    const embedded = document.getElementById("overview-data");
    if (embedded) {
      drawCharts(JSON.parse(embedded.textContent));
      let resizeTimer = null;
      window.addEventListener("resize", () => {
        clearTimeout(resizeTimer);
        resizeTimer = setTimeout(() => drawCharts(JSON.parse(embedded.textContent)), 200);
      });
    }
    if (document.getElementById("open-alert-count")) {
      subscribe();
    }
  }

  start();
})();
