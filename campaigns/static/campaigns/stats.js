/* A campaign's statistics block: draw its chart, and while the campaign is sending,
   poll the stats JSON and replace the block (counts, progress, table, chart). */
(function () {
  "use strict";
  var colours = ["#417690", "#79aec8", "#f0a04b", "#c0392b", "#7f8c8d"];

  function draw(block) {
    var source = block.querySelector("#campaign-stats-data");
    var canvas = block.querySelector("canvas.campaign-stats-chart");
    if (!source || !canvas || !window.Chart) { return; }
    var data = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {labels: data.labels, datasets: data.series.map(function (s, i) {
        return {label: s.label, data: s.values, backgroundColor: colours[i % colours.length]};
      })},
      options: {indexAxis: "y", maintainAspectRatio: false, animation: false,
        plugins: {title: {display: true, text: data.title}, legend: {position: "bottom"}},
        scales: {x: {title: {display: true, text: data.axis}, beginAtZero: true,
                     ticks: {callback: function (v) { return v + "%"; }}}}}
    });
  }

  function follow(block) {
    var every = parseInt(block.dataset.pollEvery || "3000", 10);
    var url = block.dataset.pollUrl;
    var failures = 0;
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          var holder = document.createElement("div");
          holder.innerHTML = data.html;
          var fresh = holder.firstElementChild;
          block.replaceWith(fresh);
          draw(fresh);
          var status = document.querySelector(".field-status .readonly");
          if (status) { status.textContent = data.status_label; }
          if (data.live) { block = fresh; window.setTimeout(tick, every); }
        })
        .catch(function () {
          failures += 1;  // a restarting server: back off, give up after a while
          if (failures < 6) { window.setTimeout(tick, every * failures); }
        });
    }
    window.setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".campaign-stats").forEach(function (block) {
      draw(block);
      if (block.dataset.live === "1") { follow(block); }
    });
  });
})();
