/* ram-tracker site: charts driven by a size-class selector and a model picker, sortable and
   searchable leaderboards, model pages.  Data comes from data/site-data.js (RAM_SITE), the
   index's data/models.js (RAM_MODELS) and a model page's #model-data; nothing is fetched.
   Text from the data goes into the page through textContent only, and into Plotly's labels
   escaped, so a model name is always text. */
(function () {
  "use strict";
  var SITE = window.RAM_SITE || {};
  var MODELS = window.RAM_MODELS || {};
  var MAX_SUGGESTIONS = 12;

  function esc(s) {  // Plotly renders trace names as HTML-like text
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function copy(o) { return JSON.parse(JSON.stringify(o)); }

  function ramTrace(id, m) {
    return {
      type: "scatter", x: m.ram.d, y: m.ram.y, name: esc(id), meta: id,
      mode: m.ram.d.length > 1 ? "lines" : "markers",
      line: { color: m.col, width: 2.4 }, marker: { color: m.col },
      hovertemplate: "%{fullData.name}<br>day %{x}: RAM %{y:.2f}<extra></extra>"
    };
  }
  function cumTrace(id, m) {
    return {
      type: "scatter", x: m.cum.d, y: m.cum.y, name: esc(id), meta: id, mode: "lines",
      line: { color: m.col, width: 3 }, legendgroup: "chosen", legendrank: 2,
      legendgrouptitle: { text: "Chosen" },
      hovertemplate: "%{fullData.name}<br>day %{x}: %{y:,.0f}<extra></extra>"
    };
  }
  function fanTraces(id, m) {
    var f = m.fan;
    if (!f || !f.d || !f.d.length) return [];
    var back = f.d.slice().reverse();
    return [
      { type: "scatter", x: f.d.concat(back), y: f.p90.concat(f.p10.slice().reverse()),
        fill: "toself", mode: "lines", line: { width: 0, color: m.col }, opacity: 0.18,
        fillcolor: m.col, hoverinfo: "skip", showlegend: false, name: esc(id) + " forecast p10-p90" },
      { type: "scatter", x: f.d, y: f.p50, mode: "lines", showlegend: false,
        line: { color: m.col, width: 1.6, dash: "dot" }, name: esc(id) + " forecast p50",
        hovertemplate: "%{fullData.name}<br>day %{x}: RAM %{y:.2f}<extra></extra>" }
    ];
  }
  function isChosen(t) {
    return t.legendgroup === "chosen" || String(t.legendgroup || "").indexOf("fan-") === 0;
  }
  function plot(div, fig, traces) {
    var el = document.getElementById(div);
    if (!el || !fig) return;
    var layout = copy(fig.layout);
    layout.autosize = true;
    delete layout.width;
    window.Plotly.react(el, traces, layout, SITE.config || {});
  }

  /* -- the index: selector, picker, charts --------------------------------------------- */
  var picked = [];
  function currentClass() {
    var sel = document.getElementById("size-class");
    return sel ? sel.value : null;
  }
  function drawClass() {
    var cls = currentClass();
    var figs = SITE.figs && SITE.figs[cls];
    if (!figs) return;
    var mine = picked.filter(function (id) { return MODELS[id] && MODELS[id].cls === cls; });
    var shown = {}, bold = {}, wanted = {};
    figs.ram.data.forEach(function (t) { if (t.legendgroup === undefined) shown[t.name] = 1; });
    figs.cumulative.data.forEach(function (t) { if (t.legendgroup === "chosen") bold[t.name] = 1; });
    mine.forEach(function (id) { wanted[esc(id)] = 1; });
    var ram = copy(figs.ram.data);
    // a picked model among the faint top 10 is drawn once, bold, with the chosen ones
    var cum = copy(figs.cumulative.data).filter(function (t) {
      return !(t.legendgroup === "top" && wanted[t.name]);
    });
    mine.forEach(function (id) {
      if (!shown[esc(id)]) ram.push(ramTrace(id, MODELS[id]));
      if (!bold[esc(id)]) cum.push(cumTrace(id, MODELS[id]));
    });
    plot("chart-ram", figs.ram, ram);
    plot("chart-cumulative", figs.cumulative, cum);
    var slug = SITE.slugs[cls];
    var links = { "ram-csv": "data/ram-" + slug + ".csv", "ram-json": "data/ram-" + slug + ".json",
      "cum-csv": "data/cumulative-" + slug + ".csv", "cum-json": "data/cumulative-" + slug + ".json",
      "base-csv": "data/baseline-" + slug + ".csv", "base-json": "data/baseline-" + slug + ".json" };
    Object.keys(links).forEach(function (k) {
      var a = document.getElementById(k);
      if (a) a.setAttribute("href", links[k]);
    });
    drawChips();
  }
  function drawChips() {
    var box = document.getElementById("picked");
    if (!box) return;
    box.textContent = "";
    picked.forEach(function (id) {
      var chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = id;
      var x = document.createElement("button");
      x.type = "button";
      x.textContent = "\u00d7";
      x.setAttribute("aria-label", "remove " + id);
      x.addEventListener("click", function () {
        picked = picked.filter(function (p) { return p !== id; });
        drawClass();
      });
      chip.appendChild(x);
      box.appendChild(chip);
    });
  }
  function pick(id) {
    var m = MODELS[id];
    if (!m) return;
    if (picked.indexOf(id) < 0) picked.push(id);
    var sel = document.getElementById("size-class");
    if (sel && SITE.figs[m.cls]) sel.value = m.cls;
    drawClass();
  }
  function suggest(query) {
    var list = document.getElementById("model-suggestions");
    list.textContent = "";
    var q = query.trim().toLowerCase();
    if (!q) return;
    var hits = Object.keys(MODELS).filter(function (id) {
      return id.toLowerCase().indexOf(q) >= 0;
    }).sort(function (a, b) {
      var pa = a.toLowerCase().indexOf(q), pb = b.toLowerCase().indexOf(q);
      return pa - pb || a.localeCompare(b);
    }).slice(0, MAX_SUGGESTIONS);
    hits.forEach(function (id) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "option");
      b.dataset.model = id;
      b.textContent = id;
      var cls = document.createElement("span");
      cls.className = "cls";
      cls.textContent = MODELS[id].cls;
      b.appendChild(cls);
      b.addEventListener("click", function () {
        pick(id);
        list.textContent = "";
        document.getElementById("model-search").value = "";
      });
      li.appendChild(b);
      list.appendChild(li);
    });
  }
  function setupIndex() {
    var sel = document.getElementById("size-class");
    if (!sel) return false;
    sel.addEventListener("change", drawClass);
    var input = document.getElementById("model-search");
    input.addEventListener("input", function () { suggest(input.value); });
    input.addEventListener("keydown", function (e) {
      var first = document.querySelector("#model-suggestions button");
      if (e.key === "Enter" && first) { e.preventDefault(); first.click(); }
      if (e.key === "Escape") { document.getElementById("model-suggestions").textContent = ""; }
    });
    drawClass();
    plot("chart-region", SITE.region, SITE.region ? SITE.region.data : []);
    plot("chart-org", SITE.org, SITE.org ? SITE.org.data : []);
    if (SITE.shares) plot("chart-shares", SITE.shares, SITE.shares.data);
    return true;
  }

  /* -- leaderboards: sort on a header click, filter as you type ------------------------ */
  function sortBy(th) {
    var table = th.closest("table");
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.classList.contains("num");
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      if (x === "" && y !== "") return 1;  // unknown last, either way
      if (y === "" && x !== "") return -1;
      var d = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return asc ? d : -d;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function setupBoards() {
    document.querySelectorAll("table.board th").forEach(function (th) {
      th.addEventListener("click", function () { sortBy(th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(th); });
    });
    var search = document.getElementById("board-search");
    if (!search) return;
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      document.querySelectorAll("table.board tbody tr").forEach(function (tr) {
        tr.hidden = q !== "" && tr.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }

  /* -- a model page ---------------------------------------------------------------------- */
  function setupModel() {
    var el = document.getElementById("model-data");
    if (!el) return;
    var m = JSON.parse(el.textContent);
    var figs = SITE.figs && SITE.figs[m.cls];
    if (!figs) {
      ["chart-ram", "chart-cumulative"].forEach(function (id) {
        var div = document.getElementById(id);
        if (div) div.textContent = "No baseline for this size class yet, so no chart.";
      });
      return;
    }
    var ram = [ramTrace(m.id, m)].concat(fanTraces(m.id, m));
    if (!m.ram.d.length) ram = [];
    var ramFig = copy(figs.ram);
    ramFig.layout.title.text = esc(m.id) + ": RAM since release";
    // The class chart's own picks become faint "top 10" lines where they are in it.
    var top = (SITE.top10 && SITE.top10[m.cls]) || [];
    var names = {};
    top.forEach(function (id) { names[esc(id)] = 1; });
    var cum = copy(figs.cumulative.data).filter(function (t) {
      if (t.name === esc(m.id)) return false;
      if (isChosen(t) && !names[t.name]) return false;
      if (isChosen(t)) {
        t.legendgroup = "top"; t.legendrank = 1000; t.opacity = 0.35;
        t.line = { color: t.line.color, width: 1.2 };
        delete t.legendgrouptitle;
      }
      return true;
    });
    cum.push(cumTrace(m.id, m));
    var cumFig = copy(figs.cumulative);
    cumFig.layout.title.text = esc(m.id) + ": cumulative downloads against the " +
      esc(m.cls) + " baseline";
    [ramFig, cumFig].forEach(function (f) {  // this model's days, not the class picks'
      if (f.layout.xaxis) { f.layout.xaxis.autorange = true; delete f.layout.xaxis.range; }
    });
    plot("chart-ram", ramFig, ram);
    plot("chart-cumulative", cumFig, cum);
  }

  function start() {
    setupBoards();
    if (!setupIndex()) setupModel();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
