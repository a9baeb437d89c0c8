/* hoplink dashboard: progressive enhancement only. Every page works without this file.
   Text from the server is set with textContent, never parsed as HTML — except the analytics
   fragment, which the server renders from an autoescaping template. */
"use strict";
document.documentElement.classList.add("js");

(function () {
  /* Numbers as the server writes them on the page: the page's language, not the browser's. */
  var numberFormat = window.Intl
    ? new Intl.NumberFormat(document.documentElement.lang || "en", { maximumFractionDigits: 0 })
    : null;
  function formatNumber(n) {
    return numberFormat ? numberFormat.format(Number(n)) : String(n);
  }

  function csrfToken(form) {
    var field = (form || document).querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  /* --- copy buttons ------------------------------------------------------------------ */
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var text = button.getAttribute("data-copy") || "";
    var done = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); })
      : fallbackCopy(text);
    done.then(function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-done") || label;
      button.classList.add("done");
      setTimeout(function () { button.textContent = label; button.classList.remove("done"); }, 1500);
    });
  });
  document.querySelectorAll("input.select-all").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  /* --- link list: filters apply on change (the Apply button is the no-JS way) ------------ */
  var filters = document.getElementById("link-filters");
  if (filters) {
    filters.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () {
        var page = filters.querySelector("input[name=page]");
        if (page) page.remove();
        filters.submit();
      });
    });
  }

  /* --- links CSV: stream it and show how far it got (the plain link works without JS) ---- */
  var exportLink = document.getElementById("export-csv");
  var exportStatus = document.getElementById("export-progress");
  if (exportLink && exportStatus && window.fetch && window.ReadableStream) {
    exportLink.addEventListener("click", function (event) {
      event.preventDefault();
      if (exportLink.getAttribute("aria-disabled") === "true") return;
      exportLink.setAttribute("aria-disabled", "true");
      var total = Number(exportLink.getAttribute("data-total") || "0");
      var template = exportLink.getAttribute("data-progress") || "";
      var show = function (done) {
        exportStatus.textContent = template
          .replace("{done}", formatNumber(done)).replace("{total}", formatNumber(total));
      };
      show(0);
      fetch(exportLink.href, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok || !response.body) throw new Error("export failed");
        var reader = response.body.getReader();
        var chunks = [], lines = 0, last = 0;
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) return;
            chunks.push(step.value);
            for (var i = 0; i < step.value.length; i++) if (step.value[i] === 10) lines++;
            var now = Date.now();
            if (now - last > 200) { show(Math.max(0, lines - 1)); last = now; }
            return pump();
          });
        }
        return pump().then(function () {
          var name = (response.headers.get("content-disposition") || "").split('filename="')[1];
          var a = document.createElement("a");
          a.href = URL.createObjectURL(new Blob(chunks, { type: "text/csv" }));
          a.download = name ? name.replace(/"$/, "") : "links.csv";
          document.body.appendChild(a);
          a.click();
          a.remove();
          exportStatus.textContent = exportLink.getAttribute("data-done") || "";
        });
      }).catch(function () {
        window.location.href = exportLink.href;  // fall back to the plain download
      }).then(function () { exportLink.removeAttribute("aria-disabled"); });
    });
  }

  /* --- link form: channel presets and the live preview --------------------------------- */
  var form = document.getElementById("link-form");
  if (form) {
    var preset = form.querySelector("#f-preset");
    var filled = {};  // what the last preset put in, so a new preset may replace it
    function applyPreset() {
      var option = preset.options[preset.selectedIndex];
      [["channel", "data-channel"], ["utm_source", "data-source"], ["utm_medium", "data-medium"]]
        .forEach(function (pair) {
          var field = form.elements[pair[0]];
          var value = option.getAttribute(pair[1]) || "";
          if (!field || !value) return;
          if (!field.value || field.value === filled[pair[0]]) {
            field.value = value;
            filled[pair[0]] = value;
          }
        });
    }
    if (preset) preset.addEventListener("change", function () { applyPreset(); schedule(); });

    var output = document.getElementById("preview");
    var timer = null;
    var sequence = 0;
    function showErrors(errors) {
      form.querySelectorAll("ul.field-errors").forEach(function (list) {
        var name = list.getAttribute("data-for");
        var messages = errors[name] || [];
        list.replaceChildren();
        messages.forEach(function (message) {
          var item = document.createElement("li");
          item.textContent = message;
          list.appendChild(item);
        });
        list.hidden = messages.length === 0;
        var input = form.elements[name];
        if (input && input.setAttribute) {
          if (messages.length) input.setAttribute("aria-invalid", "true");
          else input.removeAttribute("aria-invalid");
        }
        var wrapper = list.closest(".field");
        if (wrapper) wrapper.classList.toggle("invalid", messages.length > 0);
      });
    }
    function refresh() {
      var url = form.elements.url;
      if (!url || !url.value.trim()) {
        output.textContent = output.getAttribute("data-empty");
        output.classList.remove("ok");
        showErrors({});
        return;
      }
      var mine = ++sequence;
      fetch(form.getAttribute("data-preview"), {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRF-Token": csrfToken(form), "Accept": "application/json" },
        credentials: "same-origin",
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (!data || mine !== sequence) return;  // an older answer arriving late
        showErrors(data.errors || {});
        showChannelHint(data.channel_hint || "");
        if (data.final_url) {
          output.textContent = data.final_url;
          output.classList.add("ok");
        } else {
          output.textContent = output.getAttribute("data-invalid");
          output.classList.remove("ok");
        }
      }).catch(function () { /* offline: the form still works */ });
    }
    var hint = document.getElementById("channel-hint");
    var applyChannel = document.getElementById("channel-apply");
    function showChannelHint(channel) {
      if (!hint) return;
      hint.hidden = !channel;
      applyChannel.setAttribute("data-channel", channel);
      hint.querySelector(".text").textContent =
        (hint.getAttribute("data-template") || "").replace("{channel}", channel);
    }
    if (applyChannel) {
      applyChannel.addEventListener("click", function () {
        form.elements.channel.value = applyChannel.getAttribute("data-channel");
        showChannelHint("");
        schedule();
      });
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    if (form.elements.url && form.elements.url.value) schedule();
  }

  /* --- bulk job progress ---------------------------------------------------------------- */
  var job = document.getElementById("job");
  if (job && job.getAttribute("data-state") === "running") {
    var bar = document.getElementById("job-progress");
    var counts = document.getElementById("job-counts");
    var template = counts.getAttribute("data-template");
    (function poll() {
      fetch(job.getAttribute("data-progress"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (p) {
          bar.max = p.total;
          bar.value = p.done;
          if (template) {
            counts.textContent = template
              .replace("{done}", formatNumber(p.done)).replace("{total}", formatNumber(p.total))
              .replace("{created}", formatNumber(p.created))
              .replace("{failed}", formatNumber(p.failed));
          }
          if (p.state === "running") setTimeout(poll, 700);
          else window.location.reload();
        })
        .catch(function () { setTimeout(poll, 2000); });
    })();
  }

  /* --- analytics: a preset range applies on click; "custom" waits for its dates ---------- */
  var statsForm = document.getElementById("stats-form");
  if (statsForm) {
    statsForm.querySelectorAll("input[name=range]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (radio.value === "custom") {
          var from = statsForm.querySelector("#from");
          if (from) from.focus();
          return;
        }
        statsForm.submit();
      });
    });
    var scope = statsForm.querySelector("#scope");
    if (scope) scope.addEventListener("change", function () { statsForm.submit(); });
  }

  /* --- a link's rule builder: only the fields a condition type uses; more rows -------- */
  var builder = document.getElementById("rule-builder");
  if (builder) {
    var showFields = function (row) {
      var kind = row.querySelector("select.cond-type").value;
      row.querySelectorAll(".cond-fields").forEach(function (group) {
        var kinds = group.getAttribute("data-kinds").split(" ");
        group.hidden = kinds.indexOf(kind) < 0;
      });
    };
    var rows = builder.querySelectorAll(".condition");
    rows.forEach(function (row) {
      showFields(row);
      row.querySelector("select.cond-type").addEventListener("change", function () { showFields(row); });
    });
    var addButton = builder.querySelector("button.add-condition");
    var refreshAdd = function () {
      addButton.hidden = !builder.querySelector(".condition[hidden]");
    };
    addButton.addEventListener("click", function () {
      var next = builder.querySelector(".condition[hidden]");
      if (next) {
        next.hidden = false;
        next.querySelector("select.cond-type").focus();
      }
      refreshAdd();
    });
    refreshAdd();
    var preset = builder.querySelector("[data-action=app]");
    var showPreset = function () {
      var checked = builder.querySelector("input[name=action_type]:checked");
      preset.hidden = !checked || checked.value !== "app";
    };
    builder.querySelectorAll("input[name=action_type]").forEach(function (radio) {
      radio.addEventListener("change", showPreset);
    });
    showPreset();
  }

  /* --- analytics: refresh in place ---------------------------------------------------- */
  var stats = document.getElementById("stats-body");
  if (stats) {
    var auto = document.getElementById("autorefresh");
    var busy = false;
    function reload() {
      if (busy) return;
      busy = true;
      stats.setAttribute("aria-busy", "true");
      fetch(stats.getAttribute("data-refresh"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) stats.innerHTML = html; })
        .catch(function () {})
        .then(function () { busy = false; stats.setAttribute("aria-busy", "false"); });
    }
    var refreshButton = document.getElementById("refresh");
    if (refreshButton) {
      refreshButton.addEventListener("click", function (event) { event.preventDefault(); reload(); });
    }
    setInterval(function () {
      if (auto && auto.checked && document.visibilityState === "visible") reload();
    }, 3000);
  }
})();
