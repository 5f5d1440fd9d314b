// Teller console (gateway/flows/views.py): drives the branch API with the teller's access token,
// which stays in this tab's sessionStorage. Every value is written with textContent.
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var branchId = root.dataset.branchId;
  var KEY = "gateway.console.token";
  var REFRESH_MS = 4000;
  var timer = null;

  function token() { return sessionStorage.getItem(KEY); }

  function setText(id, value) { document.getElementById(id).textContent = value; }

  function api(method, path, payload) {
    var init = { method: method, credentials: "omit", headers: { Authorization: "Bearer " + token() } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch("/push/v1/branches/" + encodeURIComponent(branchId) + path, init).then(function (resp) {
      return resp.json().then(
        function (json) { return { status: resp.status, body: json }; },
        function () { return { status: resp.status, body: {} }; }
      );
    });
  }

  function signedOut(message) {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    sessionStorage.removeItem(KEY);
    document.getElementById("desk").hidden = true;
    document.getElementById("login").hidden = false;
    setText("result", message || "");
  }

  function explain(answer) {
    if (answer.status === 401) return signedOut("令牌无效或已过期，请重新登录。 The token is invalid or expired: sign in again.");
    if (answer.status === 404) return setText("result", "找不到此网点。 Branch not found (or not this tenant's).");
    if (answer.status === 403) return setText("result", "令牌缺少 branches:manage 权限。 The token lacks the branches:manage scope.");
    if (answer.status === 409 && answer.body.code === "QUEUE_EMPTY") return setText("result", "当前没有等候的客户。 Nobody is waiting.");
    setText("result", (answer.body.code || answer.status) + ": " + (answer.body.message || ""));
  }

  function cell(row, value) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    row.appendChild(td);
  }

  function fillTable(id, rows, columns) {
    var body = document.getElementById(id);
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (item) {
      var tr = document.createElement("tr");
      columns.forEach(function (c) { cell(tr, c(item)); });
      body.appendChild(tr);
    });
  }

  function time(iso) { return new Date(iso).toLocaleTimeString(); }

  function refresh() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    return api("GET", "/queue").then(function (answer) {
      if (answer.status !== 200) return explain(answer);
      var q = answer.body;
      setText("branch-name", q.branch.name);
      setText("waiting-count", "(" + q.waiting.length + ")");
      fillTable("waiting", q.waiting, [
        function (w) { return w.position; },
        function (w) { return w.ticket; },
        function (w) { return w.service; },
        function (w) { return w.phoneNumber; },
        function (w) { return time(w.issuedAt); }
      ]);
      fillTable("called", q.called, [
        function (c) { return c.ticket; },
        function (c) { return c.counter; },
        function (c) { return time(c.calledAt); }
      ]);
      timer = setTimeout(refresh, REFRESH_MS);
    }, function () { setText("result", "网络错误。 Network error."); });
  }

  function signedIn() {
    document.getElementById("login").hidden = true;
    document.getElementById("desk").hidden = false;
    refresh();
  }

  document.getElementById("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("access-token");
    sessionStorage.setItem(KEY, input.value.trim());
    input.value = "";
    setText("result", "");
    signedIn();
  });

  document.getElementById("issue-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var payload = { phoneNumber: document.getElementById("phone").value.trim() };
    var service = document.getElementById("service").value.trim();
    if (service) payload.service = service;
    api("POST", "/tickets", payload).then(function (answer) {
      if (answer.status !== 201) return explain(answer);
      setText("result", "已取号 " + answer.body.ticket + "，第 " + answer.body.position + " 位。 Issued ticket " +
        answer.body.ticket + ", position " + answer.body.position + ".");
      document.getElementById("phone").value = "";
      refresh();
    });
  });

  document.getElementById("call-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var counter = document.getElementById("counter").value.trim();
    api("POST", "/call-next", { counter: counter }).then(function (answer) {
      if (answer.status !== 200) return explain(answer);
      setText("result", "已叫号 " + answer.body.ticket + " 到 " + answer.body.counter + " 号窗口。 Called " +
        answer.body.ticket + " to counter " + answer.body.counter + ".");
      refresh();
    });
  });

  document.getElementById("logout").addEventListener("click", function () { signedOut(""); });

  if (token()) signedIn();
})();
