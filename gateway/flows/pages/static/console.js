// Staff console (gateway/console/views.py): sign-in, the branch list, the teller desk and the
// member's two-step verification (TOTP enrolment; the QR code is a data: image made by the server).
// The session (cookie, CSRF token, idle warning and end) is console-session.js's; no bearer token
// exists here. Every value is written with textContent. When the session ends the sign-in form
// comes back with a message.
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var page = root.dataset.page;
  var branchId = root.dataset.branchId || "";
  var POLL_MS = 3000;
  var STATUS = { called: "已叫 · Called", no_show: "过号 · No-show" };
  var session = window.ConsoleSession;
  var api = session.api;
  var pollTimer = null;
  var busy = false;

  function $(id) { return document.getElementById(id); }
  function setText(id, value) { $(id).textContent = value === null || value === undefined ? "" : String(value); }
  function show(id, visible) { $(id).hidden = !visible; }

  // -- session (console-session.js) -------------------------------------------------------------

  function stopPolling() {
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function signInForm(zh, en) {
    stopPolling();
    ["home", "desk", "security"].forEach(function (id) { if ($(id)) show(id, false); });
    if (page === "security") forgetEnrolment();
    setText("branch-name", "");
    show("signin-message", Boolean(zh));
    if (zh) {
      $("signin-message").textContent = zh + " ";
      var english = document.createElement("span");
      english.lang = "en";
      english.textContent = en;
      $("signin-message").appendChild(english);
    }
    setText("signin-error", "");
    $("password").value = "";
    $("totp").value = "";
    show("totp-field", false);
    show("signin", true);
    $("username").focus();
  }

  session.start({ signedOut: signInForm });

  function signedIn() {
    show("signin", false);
    show("signin-message", false);
    if (page === "desk") return openDesk();
    if (page === "security") return openSecurity();
    return openHome();
  }

  function say(id, zh, en) { setText(id, zh + " " + en); }

  $("signin-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var payload = { username: $("username").value.trim(), password: $("password").value };
    var code = $("totp").value.trim();
    if (code) payload.totp = code;
    if (!payload.username || !payload.password) {
      return say("signin-error", "请填写用户名和密码。", "Enter your username and password.");
    }
    setText("signin-error", "");
    api("POST", "/session", payload).then(function (answer) {
      if (answer.status === 200) {
        $("password").value = "";
        $("totp").value = "";
        session.applySession(answer.body);
        return signedIn();
      }
      if (answer.status === 401 && answer.body.code === "TOTP_REQUIRED") {
        show("totp-field", true);
        $("totp").focus();
        return say("signin-error", "请输入身份验证器中的动态验证码。", "Enter the code from your authenticator app.");
      }
      $("password").value = "";
      if (answer.status === 401) {
        $("password").focus();
        return say("signin-error", "用户名、密码或验证码不正确。", "The username, password or code is wrong.");
      }
      if (answer.status === 429) {
        var wait = answer.retryAfter || "?";
        return say("signin-error", "尝试次数过多，请在 " + wait + " 秒后重试。", "Too many attempts: try again in " + wait + " s.");
      }
      say("signin-error", "暂时无法登录，请稍后再试。", "Signing in is not possible right now: try again shortly.");
    }, function () { say("signin-error", "网络错误，请检查连接。", "Network error: check the connection."); });
  });

  // -- branch list -----------------------------------------------------------------------------

  function openHome() {
    api("GET", "/branches").then(function (answer) {
      if (answer.status !== 200) return;
      var branches = answer.body.branches;
      if (branches.length === 1) return location.assign("/console/branches/" + encodeURIComponent(branches[0].id));
      var list = $("branch-list");
      while (list.firstChild) list.removeChild(list.firstChild);
      branches.forEach(function (b) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = "/console/branches/" + encodeURIComponent(b.id);
        link.textContent = b.name;
        item.appendChild(link);
        list.appendChild(item);
      });
      show("no-branches", branches.length === 0);
      show("home", true);
    });
  }

  // -- desk ------------------------------------------------------------------------------------

  var COUNTER_KEY = "gateway.console.counter." + branchId;

  function counter() { return $("counter").value.trim(); }

  function explain(answer) {
    var code = answer.body.code;
    if (answer.status === 401) return;
    if (answer.status === 404) return say("result", "找不到此网点，或您无权使用。", "Branch not found, or not yours.");
    if (answer.status === 403) return say("result", "请求被拒绝，请刷新页面后重试。", "The request was refused: reload the page and try again.");
    if (code === "QUEUE_EMPTY") return say("result", "当前没有等候的客户。", "Nobody is waiting.");
    if (code === "NO_TICKET_CALLED") return say("result", "此窗口当前没有已叫的号。", "No ticket is called to this counter now.");
    if (code === "INVALID_PHONE_NUMBER") return say("result", "此号码不是手机号码，无法接收短信。", "This is not a mobile number: it cannot get an SMS.");
    if (code === "RECIPIENT_OPTED_OUT") return say("result", "该号码已退订短信。", "This number has opted out of SMS.");
    if (code === "TEMPLATE_NOT_APPROVED") return say("result", "短信模板尚未审核通过，请联系管理员。", "The SMS template is not approved yet: ask an admin.");
    if (code === "QUOTA_EXCEEDED") return say("result", "今日短信额度已用完。", "Today's SMS budget is spent.");
    if (answer.status === 429) return say("result", "操作太频繁，请稍后再试。", "Too many requests: try again shortly.");
    if (answer.status >= 500) return say("result", "服务暂时不可用，请稍后再试。", "The service is unavailable: try again shortly.");
    say("result", "操作未完成：" + (answer.body.message || answer.status), "Not done: " + (answer.body.message || answer.status));
  }

  function networkError() { say("result", "网络错误，请检查连接。", "Network error: check the connection."); }

  function cell(row, value) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    row.appendChild(td);
  }

  function fillTable(id, rows, columns) {
    var body = $(id);
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (item) {
      var tr = document.createElement("tr");
      columns.forEach(function (c) { cell(tr, c(item)); });
      body.appendChild(tr);
    });
  }

  function time(iso) { return new Date(iso).toLocaleTimeString("zh-CN", { hour12: false }); }

  function renderCurrent(calls) {
    var mine = counter();
    var current = "—";
    for (var i = 0; i < calls.length; i += 1) {
      if (calls[i].counter === mine) {
        if (calls[i].status === "called") current = calls[i].ticket;
        break;
      }
    }
    setText("current-ticket", mine ? current : "—");
  }

  var lastCalls = [];

  function poll() {
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
    if (!session.active()) return Promise.resolve();
    return Promise.all([api("GET", "/branches/" + encodeURIComponent(branchId) + "/queue"),
                        api("GET", "/branches/" + encodeURIComponent(branchId) + "/calls")]).then(function (answers) {
      if (!session.active()) return;
      var queue = answers[0];
      var calls = answers[1];
      if (queue.status !== 200) return explain(queue);
      if (calls.status !== 200) return explain(calls);
      setText("branch-name", queue.body.branch.name);
      setText("waiting-count", "(" + queue.body.waiting.length + ")");
      fillTable("waiting", queue.body.waiting, [
        function (w) { return w.position; },
        function (w) { return w.ticket; },
        function (w) { return w.service; },
        function (w) { return w.phoneNumber; },
        function (w) { return time(w.issuedAt); }
      ]);
      lastCalls = calls.body.calls;
      fillTable("calls", lastCalls, [
        function (c) { return c.ticket; },
        function (c) { return c.counter; },
        function (c) { return STATUS[c.status] || c.status; },
        function (c) { return time(c.calledAt); }
      ]);
      renderCurrent(lastCalls);
      show("desk", true);
      pollTimer = setTimeout(poll, POLL_MS);
    }, function () {
      networkError();
      if (session.active()) pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  function openDesk() {
    var saved = localStorage.getItem(COUNTER_KEY);
    if (saved && !counter()) $("counter").value = saved;
    setText("result", "");
    return poll();
  }

  function act(path, payload, done) {
    if (busy || !session.active()) return;
    busy = true;
    api("POST", "/branches/" + encodeURIComponent(branchId) + path, payload).then(function (answer) {
      busy = false;
      if (answer.status >= 200 && answer.status < 300) {
        done(answer.body);
        return poll();
      }
      explain(answer);
    }, function () { busy = false; networkError(); });
  }

  function needCounter() {
    if (counter()) return false;
    say("result", "请先填写窗口号（按 C）。", "Enter your counter first (press C).");
    $("counter").focus();
    return true;
  }

  function callNext() {
    if (needCounter()) return;
    act("/call-next", { counter: counter() }, function (b) {
      say("result", "已叫号 " + b.ticket + " 到 " + b.counter + " 号窗口。", "Called " + b.ticket + " to counter " + b.counter + ".");
    });
  }

  function recall() {
    if (needCounter()) return;
    act("/recall", { counter: counter() }, function (b) {
      say("result", "已重呼 " + b.ticket + "。", "Recalled " + b.ticket + ".");
    });
  }

  function noShow() {
    if (needCounter()) return;
    act("/no-show", { counter: counter() }, function (b) {
      say("result", b.ticket + " 已标记为过号。", b.ticket + " marked as no-show.");
    });
  }

  if (page === "desk") {
    $("issue-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var payload = { phoneNumber: $("phone").value.trim() };
      var service = $("service").value.trim();
      if (service) payload.service = service;
      if (!payload.phoneNumber) {
        $("phone").focus();
        return say("result", "请输入手机号码。", "Type the phone number.");
      }
      if (busy || !session.active()) return;
      busy = true;
      api("POST", "/branches/" + encodeURIComponent(branchId) + "/tickets", payload).then(function (answer) {
        busy = false;
        if (answer.status === 201) {
          say("result", "已取号 " + answer.body.ticket + "（第 " + answer.body.position + " 位），短信已发送。",
            "Issued " + answer.body.ticket + " (position " + answer.body.position + "); the SMS is on its way.");
          $("phone").value = "";
          $("service").value = "";
          $("phone").blur();
          return poll();
        }
        if (answer.body.code === "INVALID_ARGUMENT") {
          $("phone").focus();
          return say("result", "手机号码无效：请输入 11 位手机号（如 13800138000）或带 + 的国际号码。",
            "The phone number is not valid: type 11 digits (13800138000) or an international number with +.");
        }
        explain(answer);
      }, function () { busy = false; networkError(); });
    });

    $("counter-form").addEventListener("submit", function (event) {
      event.preventDefault();
      $("counter").blur();
    });
    $("counter").addEventListener("change", function () {
      localStorage.setItem(COUNTER_KEY, counter());
      renderCurrent(lastCalls);
    });
    $("call-next").addEventListener("click", callNext);
    $("recall").addEventListener("click", recall);
    $("no-show").addEventListener("click", noShow);

    document.addEventListener("keydown", function (event) {
      if (!session.active() || $("desk").hidden) return;
      var target = event.target;
      var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
      if (event.key === "Escape" && typing) {
        if (target.id === "counter") localStorage.setItem(COUNTER_KEY, counter());
        target.blur();
        return;
      }
      if (typing || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      if (key === "/") { event.preventDefault(); $("phone").focus(); }
      else if (key === "c") { event.preventDefault(); $("counter").focus(); $("counter").select(); }
      else if (key === "n") { event.preventDefault(); callNext(); }
      else if (key === "r") { event.preventDefault(); recall(); }
      else if (key === "x") { event.preventDefault(); noShow(); }
    });
  }

  // -- two-step verification -------------------------------------------------------------------

  var QR_PREFIX = "data:image/svg+xml;base64,";

  function forgetEnrolment() {
    show("twostep-enrol", false);
    $("twostep-qr").removeAttribute("src");
    setText("twostep-secret", "");
    $("twostep-code").value = "";
  }

  function openSecurity() {
    var on = Boolean(session.active() && session.staff().totpEnabled);
    show("twostep-on", on);
    show("twostep-off", !on);
    if (on) forgetEnrolment();
    show("security", true);
  }

  function grouped(secret) { return secret.replace(/(.{4})(?=.)/g, "$1 "); }

  // A 409: the account changed elsewhere (enrolled in another tab, or reset by an admin).
  function refreshSecurity() {
    forgetEnrolment();
    return api("GET", "/session").then(function (answer) {
      if (answer.status !== 200) return;
      session.applySession(answer.body);
      openSecurity();
      if (session.staff().totpEnabled) return say("twostep-result", "两步验证已经开启。", "Two-step verification is already on.");
      say("twostep-result", "设置已失效，请重新开始。", "The setup has lapsed: start again.");
    });
  }

  // Beginning asks for the password again (a taken-over session must not enrol its taker's app).
  function beginEnrolment(event) {
    event.preventDefault();
    var password = $("twostep-password").value;
    if (!password) {
      $("twostep-password").focus();
      return say("twostep-result", "请输入登录密码。", "Type your password.");
    }
    if (busy || !session.active()) return;
    busy = true;
    setText("twostep-result", "");
    api("POST", "/totp/enrolment", { password: password }).then(function (answer) {
      busy = false;
      if (answer.status === 400) {
        $("twostep-password").select();
        $("twostep-password").focus();
        return say("twostep-result", "密码不正确。", "That password is not right.");
      }
      if (answer.status === 429) return say("twostep-result", "尝试次数过多，请稍后再试。", "Too many attempts: try again later.");
      $("twostep-password").value = "";
      if (answer.status === 200 && String(answer.body.qrCode).indexOf(QR_PREFIX) === 0) {
        $("twostep-qr").src = answer.body.qrCode;
        setText("twostep-secret", grouped(String(answer.body.secret)));
        $("twostep-code").value = "";
        show("twostep-off", false);
        show("twostep-enrol", true);
        $("twostep-code").focus();
        return;
      }
      if (answer.status === 409) return refreshSecurity();
      if (answer.status === 401) return;
      say("twostep-result", "暂时无法开始设置，请稍后再试。", "Setting up is not possible right now: try again shortly.");
    }, function () { busy = false; say("twostep-result", "网络错误，请检查连接。", "Network error: check the connection."); });
  }

  if (page === "security") {
    $("twostep-begin-form").addEventListener("submit", beginEnrolment);
    $("twostep-restart").addEventListener("click", function () {
      forgetEnrolment();
      show("twostep-off", true);
      $("twostep-password").focus();
    });
    $("twostep-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var code = $("twostep-code").value.replace(/\s/g, "");
      if (!/^[0-9]{6}$/.test(code)) {
        $("twostep-code").focus();
        return say("twostep-result", "请输入验证器显示的 6 位数字。", "Type the 6 digits the app shows.");
      }
      if (busy || !session.active()) return;
      busy = true;
      api("POST", "/totp/confirm", { code: code }).then(function (answer) {
        busy = false;
        if (answer.status === 200) {
          session.setStaff(answer.body.staff);
          openSecurity();
          return say("twostep-result", "两步验证已开启，下次登录时需要输入验证码。", "Two-step verification is on: the next sign-in asks for a code.");
        }
        if (answer.status === 400) {
          $("twostep-code").select();
          $("twostep-code").focus();
          return say("twostep-result", "验证码不正确：请输入验证器当前显示的 6 位数字。", "That code is not right: type the 6 digits the app shows now.");
        }
        if (answer.status === 409) return refreshSecurity();
        if (answer.status === 401) return;
        say("twostep-result", "暂时无法开启，请稍后再试。", "Turning it on is not possible right now: try again shortly.");
      }, function () { busy = false; say("twostep-result", "网络错误，请检查连接。", "Network error: check the connection."); });
    });
  }

  // -- start -----------------------------------------------------------------------------------

  api("GET", "/session").then(function (answer) {
    if (answer.status !== 200) return signInForm("", "");
    session.applySession(answer.body);
    signedIn();
  }, function () {
    signInForm("网络错误，请检查连接后刷新。", "Network error: check the connection and reload.");
  });
})();
