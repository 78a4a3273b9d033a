// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Show only the plan details that belong to the chosen type.
  function syncPlan(block) {
    var select = block.querySelector("select[name$='plan_type']");
    if (!select) return;
    block.querySelectorAll("[data-for]").forEach(function (part) {
      var kinds = part.getAttribute("data-for").split(" ");
      part.hidden = kinds.indexOf(select.value) === -1;
    });
  }

  // "Same every day" or "different by weekday" on the default editor.
  function syncPattern(form) {
    var chosen = form.querySelector("input[name='pattern']:checked");
    if (!chosen) return;
    form.querySelectorAll("[data-pattern]").forEach(function (part) {
      part.hidden = part.getAttribute("data-pattern") !== chosen.value;
    });
  }

  function init(root) {
    // On a phone the tab bar scrolls; keep the current tab in view.
    var current = root.querySelector && root.querySelector(".tabs [aria-current='page']");
    if (current) current.parentNode.scrollLeft = current.offsetLeft - 16;
    root.querySelectorAll("[data-planfields]").forEach(function (block) {
      syncPlan(block);
      block.addEventListener("change", function () { syncPlan(block); });
    });
    root.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("input[name='pattern']")) return;
      syncPattern(form);
      form.addEventListener("change", function () { syncPattern(form); });
    });
    root.querySelectorAll("input[data-autosubmit]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.value) input.form.submit();
      });
    });
  }

  // Live updates: today's dashboard, roster and students table follow the day board as it
  // changes (an absence posted, corrected, deleted). The server says "board" over
  // server-sent events (lastbell/live); the page fetches its [data-live-region] parts again.
  // EventSource reconnects by itself; when it gives up (the server refused the stream: Redis
  // down, say), or the browser has none, the same parts are refreshed every 30 s instead,
  // and the stream is tried again each time, so the page is live again once it is back.
  // Every open screen of the school hears the same event: each waits a little at random too,
  // so they do not all ask the server in the same instant (the page still updates well
  // within a second of the change). The stream's address carries the version the page was
  // read at; if it changed before the stream listened, the stream says "board" at once.
  var LIVE_THROTTLE_MS = 100;
  var LIVE_SPREAD_MS = 250;
  var LIVE_POLL_MS = 30000;

  function startLive() {
    var holder = document.querySelector("[data-live]");
    if (!holder || !window.htmx) return;
    var status = document.getElementById("live-status");
    var pending = null;
    var poller = null;
    var dropped = false;

    function say(text, state) {
      if (!status) return;
      status.hidden = false;
      status.textContent = text;
      status.setAttribute("data-state", state);
    }

    function refresh() {
      pending = null;
      var url = location.pathname + location.search;
      var seen = {};
      document.querySelectorAll("[data-live-region][id]").forEach(function (region) {
        if (seen[region.id]) return;
        seen[region.id] = true;
        // A press inside it is being answered: its answer comes first (see "region" below).
        if (region.querySelector(".htmx-request")) { afterPress(region.id); return; }
        var target = "#" + region.id;
        htmx.ajax("GET", url, { target: target, select: target, swap: "outerHTML" });
      });
    }

    // Changes that come together (an import, say) make one refresh, soon after the first.
    function soon() {
      if (pending === null) {
        pending = setTimeout(refresh, LIVE_THROTTLE_MS + Math.random() * LIVE_SPREAD_MS);
      }
    }

    var source = null;
    // A press on the screen that failed (actionFailed, below): show what is true now.
    document.addEventListener("lastbell:stale", soon);

    // A refresh asked for before the press, answered after it started, waits the same way.
    document.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (!target || !target.hasAttribute || !target.hasAttribute("data-live-region")) return;
      var config = event.detail.requestConfig;
      if (config && config.verb && config.verb !== "get") return; // the press's own answer
      if (target.querySelector(".htmx-request")) {
        event.detail.shouldSwap = false;
        afterPress(target.id);
      }
    });

    var waitingForPress = null;
    function afterPress(id) {
      if (waitingForPress !== null) return;
      waitingForPress = setInterval(function () {
        var region = document.getElementById(id);
        if (region && region.querySelector(".htmx-request")) return;
        clearInterval(waitingForPress);
        waitingForPress = null;
        soon();
      }, 100);
    }

    function poll() {
      say("Refreshing every 30 s", "polling");
      if (poller === null) {
        poller = setInterval(function () {
          refresh();
          if (source !== null && source.readyState === EventSource.CLOSED) connect();
        }, LIVE_POLL_MS);
      }
    }

    if (!window.EventSource) {
      poll();
      return;
    }
    // A screen of some homerooms says which: the server pushes it only their steps.
    var address = holder.getAttribute("data-live");
    var rooms = document.querySelector("[data-live-homerooms]");
    if (rooms) {
      address += (address.indexOf("?") === -1 ? "?" : "&") + "homerooms=" +
        encodeURIComponent(rooms.getAttribute("data-live-homerooms"));
    }
    connect();

    function connect() {
      source = new EventSource(address);
      source.addEventListener("open", function () {
        if (poller !== null) { clearInterval(poller); poller = null; }
        // Changes made while the stream was down were not heard: catch up once.
        if (dropped) soon();
        dropped = false;
        say("Live", "live");
      });
      // A screen of some homerooms (data-live-homerooms: a classroom, one student's release)
      // skips the dismissal steps of other homerooms' students: the event names the homerooms
      // it touched, if it knows.
      source.addEventListener("board", function (event) {
        var region = document.querySelector("[data-live-homerooms]");
        if (region) {
          var mine = region.getAttribute("data-live-homerooms").split(",").map(Number);
          var touched = null;
          try { touched = JSON.parse(event.data).homerooms; } catch (e) { touched = null; }
          if (touched && !touched.some(function (room) { return mine.indexOf(room) !== -1; })) {
            return;
          }
        }
        soon();
      });
      // The dismissal screens get their live region rendered by the server down the stream
      // (lastbell/live/push.py): swapped in as htmx would after fetching it.
      // While a press inside the region is being answered ("Sent"), its answer brings the
      // region and a message: a push swapped in meanwhile would detach the form, and htmx
      // would then put the answer and the message nowhere. So the push waits, and once the
      // answer is in, the region is fetched if something was pushed meanwhile.
      source.addEventListener("region", function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { soon(); return; }
        var region = document.getElementById(data.target);
        if (!region) return;
        if (region.querySelector(".htmx-request")) { afterPress(data.target); return; }
        if (pending !== null) { clearTimeout(pending); pending = null; }
        htmx.swap(region, data.html, { swapStyle: "outerHTML" });
      });
      source.addEventListener("error", function () {
        dropped = true;
        if (source.readyState === EventSource.CLOSED) poll();
        else say("Reconnecting…", "reconnecting");
      });
    }
  }

  // Imports: how much of a large file has reached the server. htmx posts the upload forms
  // (hx-encoding multipart) and reports the request's progress on the form; without
  // JavaScript the form posts as usual and the browser shows its own progress.
  function uploadStatus(event) {
    var form = event.target;
    return form.querySelector ? form.querySelector("[data-upload-status]") : null;
  }

  document.addEventListener("htmx:xhr:progress", function (event) {
    var status = uploadStatus(event);
    var detail = event.detail;
    if (!status || !detail.lengthComputable || !detail.total) return;
    var percent = Math.floor((100 * detail.loaded) / detail.total);
    status.hidden = false;
    status.querySelector("progress").value = percent;
    status.querySelector("[data-upload-percent]").textContent = percent + "%";
  });

  function uploadFailed(event) {
    var status = uploadStatus(event);
    if (!status) return;
    status.hidden = false;
    status.querySelector("[data-upload-percent]").textContent =
      "The file did not reach Last Bell. Check the connection and try again.";
  }
  document.addEventListener("htmx:sendError", uploadFailed);
  document.addEventListener("htmx:responseError", uploadFailed);

  // A press on a live screen posted by htmx ("Sent" on a classroom screen) that failed: the
  // page stays, so say so where the page's messages go, and bring the screen up to date.
  function actionFailed(event) {
    var form = event.target && event.target.closest ? event.target.closest("form") : null;
    var box = document.getElementById("messages");
    if (!form || !form.closest("[data-live-region]") || !box) return;
    var note = document.createElement("p");
    note.className = "msg msg-error";
    note.textContent = event.type === "htmx:sendError"
      ? "Last Bell could not be reached, so nothing was changed. Check the connection and press again."
      : "That did not go through. The screen now shows what is true: check it and press again.";
    box.replaceChildren(note);
    box.hidden = false;
    document.dispatchEvent(new CustomEvent("lastbell:stale"));
  }
  document.addEventListener("htmx:sendError", actionFailed);
  document.addEventListener("htmx:responseError", actionFailed);

  document.addEventListener("DOMContentLoaded", function () { init(document); startLive(); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
