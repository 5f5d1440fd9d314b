// Landing page of a push link (gateway/flows/views.py). Tries the quick app, else runs the flow
// here: an H5 token from the recipient's operator (over cellular data; else from another
// operator, to tell a phone of another operator the link is not its), then the redemption
// (which carries the gw_device cookie), then the flow. The flow session lives in this closure
// only: never in a URL or in storage.
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) return;
  var cfg = app.dataset;
  var session = null;
  var pollTimer = null;
  var QUICK_APP_WAIT_MS = 1500;
  var POLL_MS = 4000;

  function show(id) {
    var steps = document.querySelectorAll("[data-step]");
    for (var i = 0; i < steps.length; i++) steps[i].hidden = steps[i].id !== id;
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function fillParams(params) {
    var slots = document.querySelectorAll("[data-param]");
    for (var i = 0; i < slots.length; i++) {
      var value = params[slots[i].dataset.param];
      slots[i].textContent = value === undefined || value === null ? "" : String(value);
    }
  }

  function Failure(step) {
    this.step = step;
  }

  // Quick apps exist on Android only (the phone vendors' engines register hap://). A top-level
  // navigation opens the quick app there and is refused silently where nothing handles it; not a
  // hidden iframe, which Chromium refuses in frames and which leaves desktop Chromium holding an
  // external-protocol prompt. Elsewhere (iOS alerts on unknown schemes, desktops) go to H5 at once.
  function tryQuickApp() {
    return new Promise(function (resolve) {
      if (!cfg.deepLink || !/Android/i.test(navigator.userAgent)) return resolve(false);
      var left = false;
      function onVisibility() {
        if (document.visibilityState === "hidden") left = true;
      }
      document.addEventListener("visibilitychange", onVisibility);
      try {
        window.location.href = cfg.deepLink;
      } catch (ignored) {
        // an unknown scheme may throw in some embedded browsers: fall through to H5
      }
      setTimeout(function () {
        document.removeEventListener("visibilitychange", onVisibility);
        resolve(left);
      }, QUICK_APP_WAIT_MS);
    });
  }

  // The recipient's operator identifies its own subscribers only. When it does not, the other
  // operators are asked: a phone of another operator gets a token there, and redeeming it tells
  // the phone (and the sender) that the link is for another phone. No token anywhere: the phone
  // is not on mobile data.
  function tokenFrom(url, appId, operator) {
    return fetch(url, {
      method: "POST",
      mode: "cors",
      credentials: "include",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ appId: appId })
    }).then(
      function (resp) {
        if (!resp.ok) throw new Failure("step-device");
        return resp.json();
      },
      function () {
        throw new Failure("step-device");
      }
    ).then(function (body) {
      if (!body || typeof body.token !== "string") throw new Failure("step-device");
      return { token: body.token, operator: operator || body.operator };
    });
  }

  function otherSdks() {
    var names = (cfg.others || "").split(" ");
    var sdks = [];
    for (var i = 0; i < names.length; i++) {
      var suffix = names[i].charAt(0).toUpperCase() + names[i].slice(1);
      var url = cfg["h5Url" + suffix];
      var appId = cfg["appId" + suffix];
      if (names[i] && url && appId) sdks.push({ operator: names[i], url: url, appId: appId });
    }
    return sdks;
  }

  function h5Token() {
    var sdks = otherSdks();
    var attempt = cfg.h5Url
      ? tokenFrom(cfg.h5Url, cfg.appId, cfg.operator)
      : Promise.reject(new Failure("step-device"));
    sdks.forEach(function (sdk) {
      attempt = attempt.catch(function () {
        return tokenFrom(sdk.url, sdk.appId, sdk.operator);
      });
    });
    return attempt;
  }

  function stepForError(status, code) {
    if (status === 403 && code === "LINK_NOT_FOR_THIS_DEVICE") return "step-refused";
    if (status === 410 || status === 404) return "step-expired";
    if (status === 422) return "step-device";
    if (status === 429) return "step-busy";
    return "step-error";
  }

  function redeem(sdk) {
    var body = { token: sdk.token, channel: "h5" };
    var operator = sdk.operator || cfg.operator;
    if (operator) body.operator = operator;
    return fetch("/push/v1/links/" + encodeURIComponent(cfg.code) + "/redeem", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(
      function (resp) {
        return resp.json().then(
          function (json) { return { status: resp.status, body: json }; },
          function () { return { status: resp.status, body: {} }; }
        );
      },
      function () {
        throw new Failure("step-error");
      }
    ).then(function (answer) {
      if (answer.status !== 200) throw new Failure(stepForError(answer.status, answer.body.code));
      return answer.body;
    });
  }

  function verify() {
    show("step-verify");
    return h5Token().then(redeem).then(function (redeemed) {
      session = redeemed.session;
      return redeemed;
    });
  }

  // Calls a flow API with the session; a 401 (session expired) verifies again once.
  function flowCall(method, path, payload, retried) {
    var init = { method: method, credentials: "omit", headers: { Authorization: "Bearer " + session } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init).then(function (resp) {
      if (resp.status === 401 && !retried) {
        return verify().then(function () { return flowCall(method, path, payload, true); });
      }
      return resp.json().then(
        function (json) { return { status: resp.status, body: json }; },
        function () { return { status: resp.status, body: {} }; }
      );
    });
  }

  function fail(err) {
    stopPolling();
    show(err instanceof Failure ? err.step : "step-error");
  }

  // -- claim location --------------------------------------------------------------------------

  function claimStart(redeemed) {
    fillParams(redeemed.params || {});
    if (redeemed.state === "shared") return show("claim-done");
    document.getElementById("declined-note").hidden = redeemed.state !== "declined";
    show("claim-consent");
  }

  function metres(accuracy) {
    var m = Math.round(accuracy);
    return "定位精度约 " + m + " 米 · Accuracy about " + m + " m";
  }

  function share() {
    if (!("geolocation" in navigator)) return show("claim-geo-error");
    show("claim-locating");
    setText("accuracy", "");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var c = pos.coords;
        setText("accuracy", metres(c.accuracy));
        flowCall("POST", "/flows/v1/claim-location", {
          latitude: c.latitude,
          longitude: c.longitude,
          accuracyMeters: c.accuracy
        }).then(function (answer) {
          if (answer.status === 200 || (answer.status === 409 && answer.body.code === "FLOW_STATE_CONFLICT")) {
            setText("done-accuracy", metres(c.accuracy));
            return show("claim-done");
          }
          show(stepForError(answer.status, answer.body.code));
        }, fail);
      },
      function () { show("claim-geo-error"); },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
    );
  }

  function decline() {
    flowCall("POST", "/flows/v1/claim-location/decline").then(function (answer) {
      if (answer.status === 200) return show("claim-declined");
      if (answer.status === 409) return show("claim-done");
      show(stepForError(answer.status, answer.body.code));
    }, fail);
  }

  // -- branch queue ----------------------------------------------------------------------------

  function stopPolling() {
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function renderTicket(t) {
    setText("ticket", t.ticket);
    var waiting = t.status === "waiting";
    document.getElementById("queue-waiting").hidden = !waiting;
    document.getElementById("queue-called").hidden = t.status !== "called";
    document.getElementById("queue-cancelled").hidden = t.status !== "cancelled";
    document.getElementById("queue-no-show").hidden = t.status !== "no_show";
    if (waiting) {
      var ahead = Math.max(0, t.position - 1);
      setText("position", t.position);
      setText("position-en", t.position);
      setText("ahead", ahead);
      setText("ahead-en", ahead);
      setText("wait", t.estimatedWaitMinutes);
      setText("wait-en", t.estimatedWaitMinutes);
    }
    if (t.status === "called") {
      setText("counter", t.counter);
      setText("counter-en", t.counter);
    }
    setText("queue-updated", "更新于 · Updated " + new Date().toLocaleTimeString());
    app.dataset.ticketStatus = t.status;
  }

  function poll() {
    flowCall("GET", "/flows/v1/branch-queue").then(function (answer) {
      if (answer.status !== 200) return show(stepForError(answer.status, answer.body.code));
      show("queue-ticket");
      renderTicket(answer.body);
      if (answer.body.status === "waiting") pollTimer = setTimeout(poll, POLL_MS);
    }, fail);
  }

  function cancelTicket() {
    stopPolling();
    flowCall("POST", "/flows/v1/branch-queue/cancel").then(function (answer) {
      if (answer.status === 200) return renderTicket(answer.body);
      poll();
    }, fail);
  }

  // -- wiring ----------------------------------------------------------------------------------

  function run() {
    verify().then(function (redeemed) {
      if (redeemed.flow === "claim_location") return claimStart(redeemed);
      fillParams(redeemed.params || {});
      poll();
    }, fail);
  }

  function on(id, handler) {
    var el = document.getElementById(id);
    if (el) el.addEventListener("click", handler);
  }

  var retries = document.querySelectorAll("button.retry");
  for (var i = 0; i < retries.length; i++) retries[i].addEventListener("click", run);
  on("continue-h5", run);
  on("share", share);
  on("geo-retry", share);
  on("reconsider", function () { show("claim-consent"); });
  on("decline", decline);
  on("geo-decline", decline);
  on("cancel", function () {
    document.getElementById("cancel").hidden = true;
    document.getElementById("cancel-confirm").hidden = false;
  });
  on("cancel-confirm", cancelTicket);

  function start() {
    tryQuickApp().then(function (openedQuickApp) {
      if (openedQuickApp) show("step-quick-app");
      else run();
    });
  }

  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
})();
