// The staff console's session, shared by the console pages (console.js) and the dashboard
// (dashboard.js); both include console_bar.html. The session lives in an HttpOnly cookie the page
// never sees; state-changing calls carry the session's CSRF token in X-CSRF-Token. A 401 from the
// server, or the idle or absolute end reached in the page, ends the session here and calls the
// page's signedOut(zh, en). Every value is written with textContent.
window.ConsoleSession = (function () {
  "use strict";

  var ROLES = { admin: "管理员 · Admin", supervisor: "主管 · Supervisor", teller: "柜员 · Teller" };
  var DASHBOARD_ROLES = { admin: true, supervisor: true };
  var ENDED = ["会话已结束，请重新登录。", "Your session has ended: sign in again."];
  var state = null;
  var ticker = null;
  var options = null;

  function $(id) { return document.getElementById(id); }
  function setText(id, value) { $(id).textContent = value === null || value === undefined ? "" : String(value); }
  function show(id, visible) { $(id).hidden = !visible; }

  // Resolves to {status, body, retryAfter}. Activity (as the server counts it) moves the idle end:
  // state-changing calls, and reads too when the page's options say readsAreActivity.
  function api(method, path, payload) {
    var headers = {};
    if (method !== "GET" && state) headers["X-CSRF-Token"] = state.csrf;
    var init = { method: method, credentials: "same-origin", headers: headers, cache: "no-store" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch("/console/api" + path, init).then(function (resp) {
      var retryAfter = resp.headers.get("Retry-After");
      return resp.json().then(
        function (json) { return { status: resp.status, body: json, retryAfter: retryAfter }; },
        function () { return { status: resp.status, body: {}, retryAfter: retryAfter }; }
      );
    }).then(function (answer) {
      if (answer.status === 401 && state && (path !== "/session" || method === "DELETE")) {
        end(ENDED[0], ENDED[1]);
      } else if (state && answer.status !== 401 && answer.status !== 403 &&
                 (method !== "GET" || (options && options.readsAreActivity))) {
        state.idleDeadline = Math.min(Date.now() + state.idleTimeout * 1000, state.absoluteDeadline);
      }
      return answer;
    });
  }

  function applySession(body) {
    var now = Date.now();
    state = {
      csrf: body.csrfToken,
      staff: body.staff,
      idleTimeout: body.idleTimeoutSeconds,
      warning: body.warningSeconds,
      idleDeadline: now + body.idleExpiresInSeconds * 1000,
      absoluteDeadline: now + body.expiresInSeconds * 1000
    };
    setText("who-name", body.staff.username);
    setText("who-role", ROLES[body.staff.role] || body.staff.role);
    show("to-dashboard", DASHBOARD_ROLES[body.staff.role] === true);
    show("who", true);
    show("idle-warning", false);
    if (ticker === null) ticker = setInterval(tick, 1000);
  }

  function clock(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    var s = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (s < 10 ? "0" : "") + s;
  }

  function tick() {
    if (!state) return;
    var left = state.idleDeadline - Date.now();
    if (left <= 0) {
      if (state.idleDeadline >= state.absoluteDeadline) {
        return end("已达到最长登录时间，请重新登录。", "You reached the longest time a session lasts: sign in again.");
      }
      var minutes = Math.round(state.idleTimeout / 60);
      return end(
        "由于 " + minutes + " 分钟未操作，您已自动退出，请重新登录。",
        "You were signed out after " + minutes + " minutes without activity: sign in again."
      );
    }
    var warn = left <= state.warning * 1000;
    if (warn) {
      setText("idle-left", clock(left));
      setText("idle-left-en", clock(left));
    }
    if (warn !== !$("idle-warning").hidden) {
      show("idle-warning", warn);
      if (warn) $("keep-signed-in").focus();
    }
  }

  // Forgets the session in the page (not on the server), hides the bar's member and warning and
  // lets the page show why.
  function end(zh, en) {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    state = null;
    show("who", false);
    show("idle-warning", false);
    options.signedOut(zh, en);
  }

  // options: signedOut(zh, en) shows the page signed out; afterSignOut() replaces the default
  // (signedOut with "you have signed out") after the sign-out button; readsAreActivity.
  function start(pageOptions) {
    options = pageOptions;
    $("keep-signed-in").addEventListener("click", function () {
      api("GET", "/session").then(function (answer) {
        if (answer.status === 200) return applySession(answer.body);
        if (state) end(ENDED[0], ENDED[1]);
      });
    });
    $("sign-out").addEventListener("click", function () {
      api("DELETE", "/session").then(function (answer) {
        if (answer.status === 204) {
          if (options.afterSignOut) return options.afterSignOut();
          return end("您已退出。", "You have signed out.");
        }
        if (answer.status !== 401 && $("result")) setText("result", "退出失败，请重试。 Signing out failed: try again.");
      });
    });
  }

  return {
    api: api,
    applySession: applySession,
    start: start,
    end: end,
    active: function () { return state !== null; },
    staff: function () { return state ? state.staff : null; },
    setStaff: function (staff) { if (state) state.staff = staff; }
  };
})();
