/* The segment review page: follow a running run, then draw its charts (Chart.js).
   Data comes from json_script blocks named by each canvas's data-source. */
(function () {
  "use strict";

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function withAlpha(hex, alpha) {
    var n = parseInt(hex.replace("#", ""), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  /* --- progress: poll the status JSON, reload when the run has finished --- */
  function follow(panel) {
    var url = panel.dataset.pollUrl;
    var every = parseInt(panel.dataset.pollEvery || "2000", 10);
    var failures = 0;
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          if (data.finished) { window.location.reload(); return; }
          document.getElementById("rc-stage").textContent = data.stage_label;
          document.getElementById("rc-percent").textContent = data.percent;
          document.getElementById("rc-bar").value = data.percent;
          window.setTimeout(tick, every);
        })
        .catch(function () {
          failures += 1;  // a restarting server or an expired session: back off, then reload
          if (failures > 5) { window.location.reload(); return; }
          window.setTimeout(tick, every * failures);
        });
    }
    window.setTimeout(tick, every);
  }

  /* --- charts --- */
  /* On a phone a legend beside the chart would take half its width: put it below, wrapped. */
  function narrow() { return window.matchMedia("(max-width: 767px)").matches; }

  /* Long feature labels may take at most 45% of a horizontal bar chart's width. */
  function capLabelWidth(scale) { scale.width = Math.min(scale.width, scale.chart.width * 0.45); }

  function axisTitle(text) {
    return {display: true, text: text, font: {weight: "bold"}};
  }

  var builders = {
    profile: function (data) {
      var quiet = cssVar("--body-quiet-color", "#666");
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            {label: data.segment_label, data: data.segment, backgroundColor: data.colour,
             borderColor: data.colour, borderWidth: 1, barPercentage: 0.85, categoryPercentage: 0.75},
            {label: data.overall_label, data: data.overall, backgroundColor: withAlpha("#8a8a8a", 0.45),
             borderColor: quiet, borderWidth: 1, barPercentage: 0.85, categoryPercentage: 0.75}
          ]
        },
        options: {
          indexAxis: "y",
          maintainAspectRatio: false,
          animation: false,
          scales: {
            x: {min: 0, max: 100, title: axisTitle(data.x_title),
                ticks: {callback: function (value) { return value + "%"; }}},
            y: {ticks: {autoSkip: false}, afterFit: capLabelWidth}
          },
          plugins: {
            legend: {position: "top", align: "start", labels: {boxWidth: narrow() ? 10 : 40}},
            tooltip: {callbacks: {
              title: function (items) { return data.values[items[0].dataIndex].label; },
              label: function (item) {
                var row = data.values[item.dataIndex];
                return item.dataset.label + ": " + (item.datasetIndex === 0 ? row.segment : row.shop);
              }
            }}
          }
        }
      };
    },

    map: function (data) {
      return {
        type: "scatter",
        data: {datasets: data.datasets.map(function (set) {
          return {label: set.label, data: set.data, backgroundColor: withAlpha(set.color, 0.6),
                  borderColor: set.color, borderWidth: 0.5, pointRadius: 2.5, pointHoverRadius: 5};
        })},
        options: {
          maintainAspectRatio: false,
          animation: false,
          scales: {x: {title: axisTitle(data.x_title)}, y: {title: axisTitle(data.y_title)}},
          plugins: {
            legend: {position: narrow() ? "bottom" : "right", align: "start",
                     labels: {usePointStyle: true, pointStyle: "circle", boxWidth: 8}},
            tooltip: {callbacks: {label: function (item) { return item.dataset.label; }}}
          }
        }
      };
    },

    cv: function (data) {
      var colours = data.values.map(function (_, i) {
        return i === 0 ? cssVar("--secondary", "#417690") : withAlpha("#8a8a8a", 0.6);
      });
      return {
        type: "bar",
        data: {labels: data.labels, datasets: [{label: data.dataset, data: data.values, backgroundColor: colours}]},
        options: {
          indexAxis: "y",
          maintainAspectRatio: false,
          animation: false,
          scales: {x: {min: data.min, max: 100, title: axisTitle(data.x_title),
                       ticks: {callback: function (value) { return value + "%"; }}},
                   y: {afterFit: capLabelWidth}},
          plugins: {
            legend: {display: false},
            tooltip: {callbacks: {label: function (item) { return item.raw.toFixed(2) + "%"; }}}
          }
        }
      };
    },

    k: function (data) {
      var accent = cssVar("--secondary", "#417690");
      var radii = data.labels.map(function (k) { return k === data.chosen ? 7 : 3; });
      return {
        type: "line",
        data: {labels: data.labels, datasets: [{label: data.dataset, data: data.values, borderColor: accent,
               backgroundColor: accent, pointRadius: radii, pointHoverRadius: 8, tension: 0}]},
        options: {
          maintainAspectRatio: false,
          animation: false,
          scales: {x: {title: axisTitle(data.x_title)}, y: {title: axisTitle(data.y_title)}},
          plugins: {legend: {display: false}}
        }
      };
    }
  };

  function drawCharts() {
    if (!window.Chart) { return; }
    var Chart = window.Chart;
    Chart.defaults.color = cssVar("--body-fg", "#333");
    Chart.defaults.borderColor = cssVar("--hairline-color", "#e8e8e8");
    Chart.defaults.font.family = cssVar("--font-family-primary", Chart.defaults.font.family);
    Chart.defaults.font.size = 12;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = readJSON(canvas.dataset.source);
      var build = builders[canvas.dataset.chart];
      if (data && build) { new Chart(canvas, build(data)); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("rc-progress");
    if (panel) { follow(panel); }
    drawCharts();
  });
})();
