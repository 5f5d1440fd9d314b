// Operations dashboard (gateway/dashboard/views.py): reads /console/api/dashboard/* with the
// console's session (console-session.js: the HttpOnly cookie the page never sees, the CSRF token
// the retry of dead letters carries, the idle warning); reads count as activity. Every figure is
// a table; charts (Chart.js, served by the gateway) draw the same numbers. Every value is written
// with textContent.
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  if (!root || root.dataset.forbidden === "true") return;
  var OPERATORS = { cmcc: "中国移动 · cmcc", cucc: "中国联通 · cucc", ctcc: "中国电信 · ctcc", "": "未路由 · none" };
  var FAMILIES = { one_tap: "一键登录 · One-tap", camara: "CAMARA", verify: "验证 · Verify", other: "其他 · Other" };
  var KINDS = { submit_failed: "提交失败（重试） · Submit failed", failed: "最终失败 · Failed", unknown: "无回执 · No report" };
  var STATUSES = {
    queued: "排队 · Queued", submitted: "已提交 · Submitted", delivered: "已送达 · Delivered",
    failed: "失败 · Failed", opened: "已打开 · Opened", completed: "已完成 · Completed",
    expired: "已过期 · Expired", unknown: "无回执 · Unknown"
  };
  var COLORS = ["#c8102e", "#1f6feb", "#2da44e", "#bf8700", "#8250df", "#57606a"];
  var session = window.ConsoleSession;
  var api = session.api;
  var charts = {};

  function $(id) { return document.getElementById(id); }
  function show(id, visible) { $(id).hidden = !visible; }
  function setText(id, value) { $(id).textContent = value === null || value === undefined ? "" : String(value); }
  function say(id, zh, en) { setText(id, zh + " " + en); }

  // -- session (console-session.js) -------------------------------------------------------------

  function signedOut(zh, en) {
    show("board", false);
    var reason = $("signin-reason");
    reason.textContent = zh + " ";
    var english = document.createElement("span");
    english.lang = "en";
    english.textContent = en;
    reason.appendChild(english);
    show("signin-needed", true);
  }

  session.start({
    signedOut: signedOut,
    afterSignOut: function () { location.assign("/console/"); },
    readsAreActivity: true
  });

  // -- tables and charts -------------------------------------------------------------------------

  function cell(row, value, numeric) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "—" : String(value);
    if (numeric) td.className = "num";
    row.appendChild(td);
    return td;
  }

  function fill(tableId, rows, render) {
    var body = $(tableId).tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (item) {
      var tr = document.createElement("tr");
      render(tr, item);
      body.appendChild(tr);
    });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = cell(tr, "暂无数据 · No data");
      td.colSpan = $(tableId).tHead.rows[0].cells.length;
      td.className = "empty";
      body.appendChild(tr);
    }
  }

  function footer(tableId, values) {
    var foot = $(tableId).tFoot;
    while (foot.firstChild) foot.removeChild(foot.firstChild);
    var tr = document.createElement("tr");
    values.forEach(function (v, i) { cell(tr, v, i > 0); });
    foot.appendChild(tr);
  }

  function percent(rate) { return rate === null ? "—" : (rate * 100).toFixed(1) + "%"; }
  function seconds(ms) { return ms === null ? "—" : (ms / 1000).toFixed(1) + " s"; }
  function sum(rows, key) { return rows.reduce(function (total, r) { return total + r[key]; }, 0); }

  function draw(id, config) {
    if (typeof window.Chart !== "function") return;
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts[id] = new window.Chart($(id), config);
  }

  function dataset(label, data, n) {
    return { label: label, data: data, backgroundColor: COLORS[n % COLORS.length], borderColor: COLORS[n % COLORS.length] };
  }

  // -- sections ----------------------------------------------------------------------------------

  function query() { return "?from=" + encodeURIComponent($("from").value) + "&to=" + encodeURIComponent($("to").value); }

  function showFunnel(body) {
    fill("funnel-table", body.days, function (tr, d) {
      cell(tr, d.day);
      [d.accepted, d.submitted, d.delivered, d.opened, d.completed, d.failed].forEach(function (v) { cell(tr, v, true); });
    });
    footer("funnel-table", ["合计 · Total"].concat(
      ["accepted", "submitted", "delivered", "opened", "completed", "failed"].map(function (k) { return sum(body.days, k); })
    ));
    fill("template-table", body.templates, function (tr, t) {
      cell(tr, t.day);
      cell(tr, t.templateName || t.templateId);
      [t.accepted, t.submitted, t.delivered, t.opened, t.locationShared, t.ticketCalled, t.failed].forEach(function (v) { cell(tr, v, true); });
    });
    fill("failure-table", body.failures, function (tr, f) { cell(tr, f.reason); cell(tr, f.messages, true); });
    var steps = [["accepted", "受理 Accepted"], ["submitted", "提交 Submitted"], ["delivered", "送达 Delivered"], ["opened", "打开 Opened"], ["completed", "完成 Completed"]];
    draw("funnel-chart", {
      type: "bar",
      data: {
        labels: body.days.map(function (d) { return d.day; }),
        datasets: steps.map(function (s, n) { return dataset(s[1], body.days.map(function (d) { return d[s[0]]; }), n); })
      }
    });
    asOf(body.asOf);
  }

  function shanghai(moment) {
    return new Date(moment).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }

  function asOf(moment) {
    if (!moment) return setText("as-of", "");
    var local = shanghai(moment);
    setText("as-of", "数据更新于 " + local + " · Figures as of " + moment);
  }

  function showOperators(body) {
    fill("operator-table", body.operators, function (tr, o) {
      cell(tr, OPERATORS[o.operator] || o.operator);
      [o.accepted, o.submitted, o.delivered].forEach(function (v) { cell(tr, v, true); });
      cell(tr, percent(o.deliveryRate), true);
      [o.undelivered, o.noReport].forEach(function (v) { cell(tr, v, true); });
      cell(tr, seconds(o.p50Ms), true);
      cell(tr, seconds(o.p95Ms), true);
    });
    fill("error-table", body.errors, function (tr, e) {
      cell(tr, OPERATORS[e.operator] || e.operator);
      cell(tr, KINDS[e.kind] || e.kind);
      cell(tr, e.reason || "—");
      cell(tr, e.events, true);
    });
    fill("outage-table", body.outages, function (tr, o) {
      cell(tr, OPERATORS[o.operator] || o.operator);
      cell(tr, shanghai(o.openedAt));
      cell(tr, o.closedAt ? shanghai(o.closedAt) : "仍在熔断 · still open");
      cell(tr, o.seconds.toFixed(1) + " s", true);
      cell(tr, o.process);
    });
    draw("operator-chart", {
      type: "bar",
      data: {
        labels: body.operators.map(function (o) { return OPERATORS[o.operator] || o.operator; }),
        datasets: [dataset("送达率 Delivery rate %", body.operators.map(function (o) {
          return o.deliveryRate === null ? 0 : Math.round(o.deliveryRate * 1000) / 10;
        }), 0)]
      },
      options: { scales: { y: { min: 0, max: 100 } } }
    });
  }

  function showIdentity(body) {
    fill("identity-table", body.rows, function (tr, r) {
      cell(tr, r.day);
      cell(tr, OPERATORS[r.operator] || r.operator);
      cell(tr, FAMILIES[r.family] || r.family);
      cell(tr, r.capability);
      cell(tr, r.calls, true);
      cell(tr, r.billed, true);
    });
    footer("identity-table", ["合计 · Total", "", "", "", body.calls, body.billed]);
    $("identity-csv").href = "/console/api/dashboard/identity.csv" + query();
    var days = [];
    body.rows.forEach(function (r) { if (days.indexOf(r.day) < 0) days.push(r.day); });
    var families = ["one_tap", "camara", "verify"];
    draw("identity-chart", {
      type: "bar",
      data: {
        labels: days,
        datasets: families.map(function (f, n) {
          return dataset(FAMILIES[f] + " 计费 billed", days.map(function (day) {
            return body.rows.filter(function (r) { return r.day === day && r.family === f; })
              .reduce(function (total, r) { return total + r.billed; }, 0);
          }), n);
        })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true } } }
    });
  }

  function showVerifications(body) {
    fill("verification-table", body.days, function (tr, d) {
      cell(tr, d.day);
      [d.requests, d.completed, d.byCode, d.failed, d.expired, d.cancelled, d.pending].forEach(function (v) { cell(tr, v, true); });
    });
  }

  function showWebhooks(body) {
    fill("webhook-table", body.targets, function (tr, t) {
      cell(tr, t.target === "" ? "Webhook 地址 · Endpoint" : t.target);
      [t.statuses.delivered || 0, t.statuses.pending || 0, t.statuses.failed || 0, t.deadLetters].forEach(function (v) { cell(tr, v, true); });
      cell(tr, t.lastError ? t.lastError + (t.lastErrorAt ? " (" + t.lastErrorAt + ")" : "") : "—");
      var actions = cell(tr, "");
      if (body.canRetry && t.deadLetters > 0) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "retry";
        button.textContent = "重新推送死信 · Retry dead letters";
        button.addEventListener("click", function () { retry(t.target, button); });
        actions.appendChild(button);
      }
    });
  }

  function retry(target, button) {
    button.disabled = true;
    api("POST", "/dashboard/webhooks/retry", { target: target }).then(function (answer) {
      button.disabled = false;
      if (answer.status === 200) {
        say("webhook-result", "已重新排队 " + answer.body.requeued + " 条。", answer.body.requeued + " requeued.");
        return api("GET", "/dashboard/webhooks" + query()).then(function (again) {
          if (again.status === 200) showWebhooks(again.body);
        });
      }
      if (answer.status === 409) {
        return say("webhook-result", "Webhook 地址已停用：请先重新登记。", "The endpoint is disabled: register it again first.");
      }
      say("webhook-result", "重新推送失败。", "The retry failed: " + (answer.body.message || answer.status));
    });
  }

  function showQueues(body) {
    fill("queue-table", body.branches, function (tr, q) {
      cell(tr, q.day);
      cell(tr, q.branchName);
      [q.issued, q.called, q.noShow, q.cancelled, q.waiting].forEach(function (v) { cell(tr, v, true); });
      cell(tr, q.averageWaitSeconds === null ? "—" : Math.round(q.averageWaitSeconds / 6) / 10 + " min", true);
    });
    if (session.active() && session.staff().role === "supervisor") say("queue-scope", "仅显示您负责的网点。", "Only the branches assigned to you.");
    else setText("queue-scope", "");
  }

  var SECTIONS = [
    ["/dashboard/funnel", showFunnel],
    ["/dashboard/operators", showOperators],
    ["/dashboard/identity", showIdentity],
    ["/dashboard/verifications", showVerifications],
    ["/dashboard/webhooks", showWebhooks],
    ["/dashboard/queues", showQueues]
  ];

  function load(search) {
    setText("load-error", "");
    root.setAttribute("aria-busy", "true");
    return Promise.all(SECTIONS.map(function (s) { return api("GET", s[0] + search); })).then(function (answers) {
      root.removeAttribute("aria-busy");
      if (!session.active()) return;
      var failed = answers.filter(function (a) { return a.status !== 200; });
      if (failed.length) {
        return say("load-error", "无法读取数据：" + (failed[0].body.message || failed[0].status), "Could not read the figures.");
      }
      $("from").value = answers[0].body.from;
      $("to").value = answers[0].body.to;
      answers.forEach(function (a, n) { SECTIONS[n][1](a.body); });
      root.dataset.loaded = answers[0].body.from + "/" + answers[0].body.to;
    }, function () {
      root.removeAttribute("aria-busy");
      say("load-error", "网络错误，请检查连接。", "Network error: check the connection.");
    });
  }

  $("range-form").addEventListener("submit", function (event) {
    event.preventDefault();
    load(query());
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-days]"), function (button) {
    button.addEventListener("click", function () {
      var last = $("to").value ? new Date($("to").value + "T00:00:00Z") : new Date();
      var first = new Date(last.getTime() - (Number(button.dataset.days) - 1) * 86400000);
      $("from").value = first.toISOString().slice(0, 10);
      $("to").value = last.toISOString().slice(0, 10);
      load(query());
    });
  });

  $("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = $("q").value.trim();
    api("GET", "/dashboard/search?q=" + encodeURIComponent(q)).then(function (answer) {
      if (answer.status !== 200) {
        fill("search-table", [], function () {});
        return say("search-result", "请输入消息 ID 或手机号后 4 位。", "Enter a message id or the last 4 digits of the number.");
      }
      var found = answer.body.messages;
      say("search-result", "找到 " + found.length + " 条。", found.length + " found.");
      fill("search-table", found, function (tr, m) {
        cell(tr, m.createdAt);
        cell(tr, m.to);
        cell(tr, m.templateName || m.templateId);
        cell(tr, OPERATORS[m.operator || ""] || m.operator);
        cell(tr, STATUSES[m.status] || m.status);
        cell(tr, m.failureReason || "—");
        cell(tr, m.id);
      });
    });
  });

  api("GET", "/session").then(function (answer) {
    if (answer.status === 401) signedOut("请先登录员工控制台。", "Sign in to the staff console first.");
    if (answer.status !== 200) return;
    session.applySession(answer.body);
    show("board", true);
    load("");
  });
})();
