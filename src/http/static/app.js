/* app.js - live updates and small conveniences for the admin UI.
 *
 * Every page works without this file: forms post normally and the server
 * renders everything. With it:
 *   - relative times ("3 min ago") and running durations tick;
 *   - buttons with class js-confirm ask before their form is sent;
 *   - the jobs filter box hides non-matching rows as you type;
 *   - the enable switches flip in place (POST /api/v1/jobs/NAME/enable|disable
 *     with the X-CSRF-Token header from <meta name="csrf-token">);
 *   - while the tab is visible, pages poll the JSON API every 2 s: the jobs
 *     page (/api/v1/jobs) updates last-run badges, durations and progress;
 *     a run's page (/api/v1/runs/ID, and .../output?since=N when the
 *     output grew) follows the run and its output until it ends; the running page (/api/v1/running) follows progress and
 *     reloads when runs start or end; a job's page reloads when its runs
 *     change.
 * The CSP forbids inline scripts and handlers: everything is attached
 * here. Text from the server is inserted with textContent, never as HTML. */
"use strict";

(function () {
  var POLL_MS = 2000;
  var main = document.getElementById("main");
  var page = main ? main.getAttribute("data-page") : "";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  /* ---- formatting (mirrors src/http/html.c) ---- */

  function fmtDuration(secs) {
    if (secs < 0) secs = 0;
    if (secs < 1) return Math.round(secs * 1000) + " ms";
    if (secs < 10) return secs.toFixed(1) + " s";
    var s = Math.round(secs);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor(s / 60) % 60 + " min";
    return Math.floor(s / 86400) + " d " + Math.floor(s / 3600) % 24 + " h";
  }

  function fmtRelative(ts, now) {
    var d = Math.round(ts - now), a = Math.abs(d), v;
    if (a < 5) return "just now";
    if (a < 60) v = a + " s";
    else if (a < 3600) v = Math.floor(a / 60) + " min";
    else if (a < 86400) v = Math.floor(a / 3600) + " h";
    else v = Math.floor(a / 86400) + " d";
    return d > 0 ? "in " + v : v + " ago";
  }

  function nowSecs() { return Date.now() / 1000; }

  /* Local times in the config's zone, as the server writes them. */
  var zoneMeta = document.querySelector('meta[name="cw-zone"]');
  var zoneFmt = null;
  try {
    zoneFmt = new Intl.DateTimeFormat("sv-SE", {
      timeZone: zoneMeta ? zoneMeta.getAttribute("content") : undefined,
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
    });
  } catch (e) { zoneFmt = null; }
  function fmtLocal(ts) {
    var d = new Date(ts * 1000);
    return zoneFmt ? zoneFmt.format(d) : d.toISOString().replace("T", " ").slice(0, 19);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  /* As the server's cw_html_status_label: the stored word, spaced. */
  function statusLabel(status) {
    return status === "timed_out" ? "timed out" : status;
  }

  function badge(status) {
    var b = el("span", "badge s-" + status, statusLabel(status));
    b.setAttribute("data-run-status", status);
    return b;
  }

  function progress(p) {
    var wrap = el("span", "progress");
    wrap.setAttribute("data-progress", "");
    var bar = document.createElement("progress");
    wrap.appendChild(bar);
    if (p && p.percent !== null && p.percent !== undefined) {
      bar.max = 100;
      bar.value = p.percent;
      var t = el("span", "progress-text", Math.round(p.percent) + "%");
      if (p.total && p.total !== 100) t.appendChild(el("span", "muted", " (" + p.done + "/" + p.total + ")"));
      wrap.appendChild(t);
    } else if (p && p.done !== null && p.done !== undefined) {
      wrap.appendChild(el("span", "progress-text", p.done + " done"));
    }
    return wrap;
  }

  function durSpan(run) {
    var d = el("span", "dur", fmtDuration(run.duration || 0));
    if (!run.ended && run.started_ts) d.setAttribute("data-started", String(run.started_ts));
    return d;
  }

  function relSpan(ts) {
    var r = el("span", "rel", fmtRelative(ts, nowSecs()));
    r.setAttribute("data-rel", String(ts));
    return r;
  }

  /* A flash message is shown once: a reload or a bookmark does not repeat it. */
  if (window.history && window.history.replaceState && /[?&](msg|err)=/.test(window.location.search)) {
    var sp = new URLSearchParams(window.location.search);
    sp.delete("msg");
    sp.delete("err");
    var qs = sp.toString();
    window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : "") + window.location.hash);
  }

  /* ---- ticking clocks ---- */

  function tick() {
    var now = nowSecs();
    document.querySelectorAll("[data-rel]").forEach(function (e) {
      e.textContent = fmtRelative(parseFloat(e.getAttribute("data-rel")), now);
    });
    document.querySelectorAll(".dur[data-started]").forEach(function (e) {
      e.textContent = fmtDuration(now - parseFloat(e.getAttribute("data-started")));
    });
  }
  setInterval(tick, 1000);

  /* ---- confirmations ---- */

  document.addEventListener("submit", function (ev) {
    var btn = ev.submitter || ev.target.querySelector(".js-confirm");
    if (btn && btn.classList && btn.classList.contains("js-confirm")) {
      if (!window.confirm(btn.getAttribute("data-confirm") || "Are you sure?")) ev.preventDefault();
    }
  });

  /* ---- jobs filter ---- */

  var filter = document.getElementById("job-filter");
  if (filter) {
    var applyFilter = function () {
      var q = filter.value.trim().toLowerCase(), shown = 0;
      document.querySelectorAll("#jobs-table tbody tr[data-job]").forEach(function (tr) {
        var hit = !q || tr.getAttribute("data-job").toLowerCase().indexOf(q) >= 0;
        tr.hidden = !hit;
        if (hit) shown++;
      });
      var none = document.getElementById("filter-none");
      if (!shown && q) {
        if (!none) {
          none = el("div", "empty", "");
          none.id = "filter-none";
          var wrap = document.querySelector("#jobs-table");
          if (wrap && wrap.parentNode) wrap.parentNode.parentNode.insertBefore(none, wrap.parentNode.nextSibling);
        }
        none.textContent = "No job on this page matches \u201c" + filter.value.trim() + "\u201d. Press Enter to search all jobs.";
        none.hidden = false;
      } else if (none) {
        none.hidden = true;
      }
    };
    filter.addEventListener("input", applyFilter);
    applyFilter();
  }

  /* ---- API helpers ---- */

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (r) {
      if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }

  function postJSON(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: "{}"
    }).then(function (r) {
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          throw new Error(j && j.error && j.error.message ? j.error.message : "HTTP " + r.status);
        });
      }
      return r.json().catch(function () { return {}; });
    });
  }

  function flash(kind, text) {
    var area = document.getElementById("flash-area");
    if (!area) return;
    area.textContent = "";
    var f = el("div", "flash " + (kind === "err" ? "flash-err" : "flash-ok"), text);
    f.id = "flash";
    f.setAttribute("role", kind === "err" ? "alert" : "status");
    area.appendChild(f);
  }

  /* The enable switch flips in place; on any trouble the form posts. */
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button[data-toggle-job]") : null;
    if (!btn || !csrf || !window.fetch) return;
    ev.preventDefault();
    var job = btn.getAttribute("data-toggle-job"), on = btn.getAttribute("data-enabled") === "1";
    btn.disabled = true;
    postJSON("/api/v1/jobs/" + encodeURIComponent(job) + (on ? "/disable" : "/enable")).then(function () {
      var now = !on;
      btn.disabled = false;
      btn.setAttribute("data-enabled", now ? "1" : "0");
      btn.setAttribute("aria-checked", now ? "true" : "false");
      btn.classList.toggle("on", now);
      btn.classList.toggle("off", !now);
      btn.title = (now ? "Disable " : "Enable ") + job;
      var form = btn.form;
      if (form) form.action = form.action.replace(/\/(enable|disable)$/, now ? "/disable" : "/enable");
      var tr = btn.closest("tr[data-job]");
      if (tr) { tr.setAttribute("data-enabled", now ? "1" : "0"); tr.classList.toggle("is-disabled", !now); }
      var pill = document.getElementById("job-state");
      if (pill) { pill.textContent = now ? "enabled" : "disabled"; pill.className = "pill " + (now ? "pill-on" : "pill-off"); }
      flash("msg", job + (now ? " enabled: its schedules fire again." : " disabled: its schedules do not fire until it is enabled again."));
    }).catch(function () {
      btn.disabled = false;
      if (btn.form) btn.form.submit();
    });
  });

  /* ---- polling ---- */

  var busy = false;
  function poll(fn) {
    function run() {
      if (document.hidden || busy) return;
      busy = true;
      Promise.resolve().then(fn).catch(function () {}).then(function () { busy = false; });
    }
    setInterval(run, POLL_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) run(); });
  }

  /* Something the user is in the middle of (a params form, typing). */
  function userBusy() {
    var a = document.activeElement;
    return document.querySelector("details[open]") !== null ||
      (a && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "TEXTAREA"));
  }

  function setText(id, text) {
    var e = document.getElementById(id);
    if (e && e.textContent !== text) e.textContent = text;
  }

  function updateJobRow(tr, job) {
    var last = tr.querySelector(".cell-last"), now = tr.querySelector(".cell-now");
    var lr = job.last_run, rr = job.running;
    var lastKey = lr ? lr.id + ":" + lr.status : "";
    if (last && last.getAttribute("data-key") !== lastKey) {
      last.setAttribute("data-key", lastKey);
      last.textContent = "";
      if (lr) {
        var a = el("a", "last-run");
        a.href = "/runs/" + lr.id;
        a.appendChild(badge(lr.status));
        last.appendChild(a);
        last.appendChild(document.createTextNode(" "));
        last.appendChild(durSpan(lr));
        var when = el("div", "small muted");
        var ts = lr.ended_ts || lr.scheduled_at_ts;
        if (ts) {
          var t = el("time", "", fmtLocal(ts));
          t.setAttribute("datetime", new Date(ts * 1000).toISOString());
          when.appendChild(t);
          when.appendChild(document.createTextNode(" "));
          when.appendChild(relSpan(ts));
        }
        last.appendChild(when);
      } else {
        last.appendChild(el("span", "muted", "never ran"));
      }
    }
    if (now) {
      now.textContent = "";
      if (rr) {
        var ra = el("a", "running-link");
        ra.href = "/runs/" + rr.id;
        ra.appendChild(badge(rr.status));
        now.appendChild(ra);
        if (job.n_running > 1) now.appendChild(el("span", "small muted", " +" + (job.n_running - 1) + " more"));
        if (rr.status === "running") {
          now.appendChild(document.createTextNode(" "));
          now.appendChild(durSpan(rr));
          now.appendChild(progress(rr.progress));
        }
      }
    }
    tr.setAttribute("data-running", String(job.n_running || 0));
  }

  /* A job whose last run went wrong by itself (src/http/model.c,
   * cw_model_status_failing): not killed by an operator, skipped or missed. */
  var FAILING = /^(failed|timed_out|lost)$/;

  if (page === "jobs") {
    /* The first update keeps the server's markup for the last-run cell. */
    document.querySelectorAll("#jobs-table tr[data-job]").forEach(function (tr) {
      var a = tr.querySelector(".cell-last a.last-run"), b = a ? a.querySelector("[data-run-status]") : null;
      var c = tr.querySelector(".cell-last");
      if (c) c.setAttribute("data-key", a && b ? a.getAttribute("href").replace("/runs/", "") + ":" + b.getAttribute("data-run-status") : "");
      tr.setAttribute("data-failing", b && FAILING.test(b.getAttribute("data-run-status")) ? "1" : "0");
    });
    poll(function () {
      var q = new URLSearchParams(window.location.search);
      var url = "/api/v1/jobs?limit=100&offset=" + encodeURIComponent(q.get("offset") || "0");
      if (q.get("q")) url += "&q=" + encodeURIComponent(q.get("q"));
      return getJSON(url).then(function (data) {
        /* The server counted the failing jobs of every page; this page's
         * jobs that started or stopped failing since move that count. */
        var sf = document.getElementById("stat-failed");
        var failing = sf ? parseInt(sf.textContent, 10) || 0 : 0;
        (data.jobs || []).forEach(function (job) {
          var tr = document.querySelector('#jobs-table tr[data-job="' + CSS.escape(job.name) + '"]');
          if (!tr) return;
          updateJobRow(tr, job);
          var now = job.last_run && FAILING.test(job.last_run.status) ? "1" : "0";
          if (tr.getAttribute("data-failing") !== now) {
            failing += now === "1" ? 1 : -1;
            tr.setAttribute("data-failing", now);
          }
        });
        if (typeof data.failing === "number") failing = data.failing;
        setText("stat-running", String(data.running || 0));
        setText("stat-failed", String(Math.max(failing, 0)));
        if (sf) sf.parentNode.classList.toggle("has", failing > 0);
      });
    });
  }

  if (page === "job") {
    var jobName = main.getAttribute("data-job");
    var jobKey = null;
    poll(function () {
      return getJSON("/api/v1/jobs/" + encodeURIComponent(jobName)).then(function (job) {
        var key = (job.running ? job.running.id + ":" + job.running.status : "") + "|" +
          (job.last_run ? job.last_run.id : "") + "|" + job.enabled;
        if (jobKey === null) { jobKey = key; return; }
        if (key !== jobKey && !userBusy()) window.location.reload();
        if (job.running && job.running.status === "running") {
          var bar = document.querySelector("#job-running [data-progress]");
          if (bar) bar.parentNode.replaceChild(progress(job.running.progress), bar);
        }
      });
    });
  }

  /* A Run now request (/requests/ID) still waiting: once the scheduler
   * has taken it, reloading leads to its run. */
  if (page === "request" && main.getAttribute("data-live") === "request") {
    var reqCard = document.getElementById("request");
    var reqId = reqCard ? Number(reqCard.getAttribute("data-request")) : 0;
    poll(function () {
      return getJSON("/api/v1/requests").then(function (data) {
        var waiting = (data.requests || []).some(function (q) { return q.id === reqId; });
        if (!waiting) window.location.reload();
      });
    });
  }

  if (page === "running") {
    var ids = Array.prototype.map.call(document.querySelectorAll("#runs-table tr[data-run]"), function (tr) {
      return tr.getAttribute("data-run") + ":" + tr.getAttribute("data-run-status");
    }).join(",");
    poll(function () {
      return getJSON("/api/v1/running").then(function (data) {
        var runs = data.runs || [];
        var now = runs.map(function (r) { return r.id + ":" + r.status; }).join(",");
        if (now !== ids) { if (!userBusy()) window.location.reload(); return; }
        runs.forEach(function (r) {
          var tr = document.querySelector('#runs-table tr[data-run="' + r.id + '"]');
          var cell = tr && tr.querySelector(".cell-result");
          if (cell) { cell.textContent = ""; cell.appendChild(progress(r.progress)); }
        });
      });
    });
  }

  /* A running run's page follows its output: the worker stores it about
   * once a second; when the run's output_size differs from what the page
   * shows (data-output-size on #run-output), only the part past it is
   * fetched (GET .../output?since=N) and appended as text. A reset (the
   * stored output no longer continues what is shown) replaces the text,
   * and so does every APPEND_MAX characters appended, so a page left open
   * on a chatty job stays bounded. The view scrolls with the output only
   * when it was already at the bottom. */
  if (page === "run" && main.getAttribute("data-active") === "1") {
    var runId = main.getAttribute("data-run-id");
    var out = document.getElementById("run-output");
    var APPEND_MAX = 4 * 1024 * 1024;
    var shown = out ? parseInt(out.getAttribute("data-output-size") || "0", 10) || 0 : 0;
    var appended = 0;
    var followOutput = function (size) {
      if (!out || size === shown) return null;
      var since = appended > APPEND_MAX ? 0 : shown;
      return getJSON("/api/v1/runs/" + encodeURIComponent(runId) + "/output?since=" + since).then(function (o) {
        var atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
        if (o.reset || since === 0) {
          out.textContent = o.output;
          appended = 0;
        } else if (o.output) {
          out.appendChild(document.createTextNode(o.output));
          appended += o.output.length;
        }
        shown = o.next;
        out.setAttribute("data-output-size", String(o.next));
        var empty = document.getElementById("output-empty");
        if (empty && out.textContent.length) empty.hidden = true;
        if (atEnd) out.scrollTop = out.scrollHeight;
      });
    };
    poll(function () {
      return getJSON("/api/v1/runs/" + encodeURIComponent(runId)).then(function (run) {
        var st = document.getElementById("run-status");
        if (st) { st.textContent = ""; st.appendChild(badge(run.status)); }
        var st2 = document.getElementById("run-status-text");
        if (st2) { st2.textContent = ""; st2.appendChild(badge(run.status)); }
        var bar = document.querySelector("#run-progress [data-progress]");
        if (bar) bar.parentNode.replaceChild(progress(run.progress), bar);
        setText("output-size", run.output_size + " bytes" + (run.output_truncated ? ", middle cut (head and tail kept)" : ""));
        return Promise.resolve(followOutput(run.output_size)).then(function () {
          /* The run ended: show the server's full final page once. */
          if (run.status !== "queued" && run.status !== "running") window.location.reload();
        });
      });
    });
  }
})();
