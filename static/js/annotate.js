// The annotator's page (/annotate/{slug}/): keyboard first, talks to the JSON API with
// the session cookie and the CSRF token. Plain JS, no framework, nothing from a CDN.
"use strict";

(function () {
  const root = document.getElementById("annotate");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const cfg = root.dataset;
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const pairwise = cfg.taskType === "pairwise";

  const state = {
    lease: null,        // the task on screen
    order: [],          // image ids chosen so far, best first
    shownAt: 0,         // when the task appeared (for duration_ms)
    key: null,          // Idempotency-Key of the current assignment
    busy: false,        // a request is in flight: ignore keys
    feedback: null,     // a calibration feedback panel awaiting Continue
    done: Number(cfg.done),
    session: 0,
  };

  // --- session timer and progress
  const started = Date.now();
  setInterval(() => {
    const s = Math.floor((Date.now() - started) / 1000);
    const text = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    $("timer").textContent = s >= 3600 ? Math.floor(s / 3600) + ":" + text.padStart(5, "0") : text;
  }, 1000);

  function showProgress() {
    $("progress").textContent = state.done + " judged in this project";
    $("session-count").textContent = state.session + " this session";
  }

  function say(text) {
    $("status").textContent = text;
  }

  // --- API
  function url(template, id) {
    return template.replace("/0/", "/" + id + "/");
  }

  async function api(method, path, body, headers) {
    const response = await fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: Object.assign(
        { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
        headers || {}
      ),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (e) { data = null; }
    }
    return { status: response.status, data: data };
  }

  // Preload and decode the images so the task appears whole, not piece by piece.
  function preload(lease) {
    return Promise.all(lease.images.map((image) => {
      const img = new Image();
      img.src = image.url;
      return img.decode().catch(() => null);
    }));
  }

  async function fetchNext() {
    state.busy = true;
    try {
      const result = await api("GET", cfg.nextUrl);
      if (result.status === 200) {
        await preload(result.data);
        show(result.data);
      } else if (result.status === 204) {
        nothingLeft();
      } else {
        nothingLeft((result.data && result.data.detail) || "The next task could not be loaded.");
      }
    } catch (e) {
      say("The server could not be reached. Check your connection; retrying in 5 s.");
      setTimeout(fetchNext, 5000);
    } finally {
      state.busy = false;
    }
  }

  function nothingLeft(detail) {
    state.lease = null;
    $("task").hidden = true;
    $("done").hidden = false;
    if (detail) $("done-text").textContent = detail;
    say("Nothing left to judge.");
    $("done").focus();
  }

  // --- showing a task
  function highlightNames(text) {
    // Guideline 3: capitalised names are easy to misread, so they stand out.
    const fragment = document.createDocumentFragment();
    const words = text.split(/(\s+)/);
    words.forEach((word, index) => {
      const isName = /^[("'“‘]*[A-Z][\p{L}\p{N}'’.-]*/u.test(word) &&
        !(index === 0 && !/^[A-Z]{2,}/.test(word) && !(words[2] && /^[A-Z]/.test(words[2])));
      if (isName) {
        // Trailing punctuation stays outside the highlight.
        const parts = word.match(/^(.*?)([.,;:!?)"”’]*)$/u);
        const mark = document.createElement("mark");
        mark.textContent = parts[1];
        fragment.appendChild(mark);
        if (parts[2]) fragment.appendChild(document.createTextNode(parts[2]));
      } else {
        fragment.appendChild(document.createTextNode(word));
      }
    });
    return fragment;
  }

  function show(lease) {
    state.lease = lease;
    state.order = [];
    state.key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    $("done").hidden = true;
    $("feedback").hidden = true;
    $("task").hidden = false;
    $("calibration-note").hidden = !lease.is_calibration;
    const prompt = $("prompt");
    prompt.replaceChildren(highlightNames(lease.prompt));
    const count = lease.images.length;
    $("instructions").textContent = pairwise
      ? "Which image is better? Press 1 or Left for the left image, 2 or Right for the right image."
      : "Press the image numbers from best to worst (1 to " + count + "), or click them. Backspace undoes; Enter submits.";
    const grid = $("images");
    grid.className = "images images-" + count + (pairwise ? " images-pair" : "");
    grid.replaceChildren();
    lease.images.forEach((image, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "image-choice";
      button.dataset.id = image.id;
      button.draggable = !pairwise;
      const label = pairwise
        ? (index === 0 ? "Left image is better (key 1)" : "Right image is better (key 2)")
        : "Image " + (index + 1) + " of " + count;
      button.setAttribute("aria-label", label);
      const number = document.createElement("span");
      number.className = "image-number";
      number.textContent = String(index + 1);
      number.setAttribute("aria-hidden", "true");
      const rank = document.createElement("span");
      rank.className = "image-rank";
      rank.setAttribute("aria-hidden", "true");
      const img = document.createElement("img");
      img.src = image.url;
      img.alt = "Image " + (index + 1);
      button.append(img, number, rank);
      button.addEventListener("click", () => choose(index));
      button.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("text/plain", String(image.id));
      });
      grid.appendChild(button);
    });
    $("order-area").hidden = pairwise;
    renderOrder();
    state.shownAt = performance.now();
    say((lease.is_calibration ? "Calibration task. " : "") + "New task: " + count + " images.");
    const first = grid.querySelector("button");
    if (first) first.focus();
  }

  // --- choosing
  function choose(index) {
    const lease = state.lease;
    if (!lease || state.busy || state.feedback) return;
    if (index < 0 || index >= lease.images.length) return;
    const id = lease.images[index].id;
    if (pairwise) {
      const other = lease.images[1 - index].id;
      submit([id, other]);
      return;
    }
    if (state.order.includes(id)) return;
    state.order.push(id);
    renderOrder();
    say("Image " + (index + 1) + " placed " + state.order.length + " of " + lease.images.length + ".");
  }

  function undo() {
    if (pairwise || !state.order.length) return;
    state.order.pop();
    renderOrder();
    say("Undone. " + state.order.length + " placed.");
  }

  function positionOf(id) {
    return state.lease.images.findIndex((image) => image.id === id);
  }

  function renderOrder() {
    if (!state.lease) return;
    const list = $("order");
    list.replaceChildren();
    state.order.forEach((id, rankIndex) => {
      const item = document.createElement("li");
      item.draggable = true;
      item.dataset.id = id;
      item.textContent = "Image " + (positionOf(id) + 1);
      item.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("text/plain", String(id));
      });
      item.addEventListener("dragover", (event) => event.preventDefault());
      item.addEventListener("drop", (event) => {
        event.preventDefault();
        moveBefore(Number(event.dataTransfer.getData("text/plain")), rankIndex);
      });
      list.appendChild(item);
    });
    document.querySelectorAll("#images .image-choice").forEach((button) => {
      const rank = state.order.indexOf(Number(button.dataset.id));
      button.querySelector(".image-rank").textContent = rank >= 0 ? "#" + (rank + 1) : "";
      button.classList.toggle("placed", rank >= 0);
      if (!pairwise) {
        const base = "Image " + (positionOf(Number(button.dataset.id)) + 1) + " of " + state.lease.images.length;
        button.setAttribute("aria-label", rank >= 0 ? base + ", ranked " + (rank + 1) : base);
      }
    });
    const complete = state.order.length === state.lease.images.length;
    $("submit").disabled = !complete;
  }

  function moveBefore(id, rankIndex) {
    // Drag-and-drop: an image dropped on a list item goes just before it.
    if (!state.lease || positionOf(id) < 0) return;
    const order = state.order.filter((other) => other !== id);
    const target = Math.min(rankIndex, order.length);
    order.splice(target, 0, id);
    state.order = order;
    renderOrder();
  }

  $("order").addEventListener("dragover", (event) => event.preventDefault());
  $("order").addEventListener("drop", (event) => {
    if (event.target !== $("order")) return;
    event.preventDefault();
    moveBefore(Number(event.dataTransfer.getData("text/plain")), state.order.length);
  });
  $("submit").addEventListener("click", () => submitRanking());

  function submitRanking() {
    if (pairwise || !state.lease) return;
    if (state.order.length !== state.lease.images.length) {
      say("Place all " + state.lease.images.length + " images before submitting (" + state.order.length + " placed).");
      return;
    }
    submit(state.order.slice());
  }

  // --- submit, skip, flag
  async function submit(ranking, attempt) {
    const lease = state.lease;
    state.busy = true;
    say("Saving…");
    const body = { ranking: ranking, duration_ms: Math.round(performance.now() - state.shownAt), flags: [] };
    let result;
    try {
      result = await api("POST", url(cfg.submitUrl, lease.assignment) + "?next=1", body,
        { "Idempotency-Key": state.key });
    } catch (e) {
      // Same key on retry: the server stores the judgment once whatever happens.
      const n = (attempt || 0) + 1;
      say("Could not reach the server; your judgment is kept and will be sent again (try " + n + ").");
      setTimeout(() => submit(ranking, n), Math.min(8000, 1000 * n));
      return;
    }
    state.busy = false;
    if (result.status === 201 || result.status === 200) {
      if (result.status === 201 && !lease.is_calibration) { state.done += 1; state.session += 1; }
      showProgress();
      const next = result.data.next;
      if (next) preload(next);
      if (result.data.calibration) {
        showFeedback(result.data.calibration, lease, next);
      } else {
        advance(next);
      }
    } else if (result.status === 409 || result.status === 403 || result.status === 404) {
      say((result.data && result.data.detail) || "This task is no longer yours.");
      fetchNext();
    } else {
      say((result.data && result.data.detail) || "The judgment was refused (" + result.status + ").");
    }
  }

  async function advance(next) {
    if (next) {
      await preload(next);
      show(next);
    } else {
      fetchNext();
    }
  }

  function showFeedback(feedback, lease, next) {
    state.feedback = next || "fetch";
    $("task").hidden = true;
    $("feedback").hidden = false;
    $("feedback-title").textContent = feedback.correct ? "Correct" : "Not quite";
    let text = feedback.correct
      ? "You ordered these images as expected."
      : "The expected order, best first, is shown below.";
    text += " Calibration " + feedback.done + " of " + feedback.round_size + ".";
    if (feedback.passed === true) text += " You passed calibration: your judgments now count.";
    if (feedback.passed === false) text += " This round did not pass; another round follows if gold tasks remain.";
    $("feedback-text").textContent = text;
    const images = $("feedback-images");
    images.replaceChildren();
    feedback.expected.forEach((id, rank) => {
      const image = lease.images.find((candidate) => candidate.id === id);
      if (!image) return;
      const figure = document.createElement("figure");
      const img = document.createElement("img");
      img.src = image.url;
      img.alt = "Expected rank " + (rank + 1);
      const caption = document.createElement("figcaption");
      caption.textContent = "#" + (rank + 1);
      figure.append(img, caption);
      images.appendChild(figure);
    });
    $("feedback").focus();
  }

  function continueAfterFeedback() {
    const next = state.feedback;
    state.feedback = null;
    advance(next === "fetch" ? null : next);
  }
  $("feedback-continue").addEventListener("click", continueAfterFeedback);

  async function skip(flags, flagged) {
    const lease = state.lease;
    if (!lease || state.busy) return;
    state.busy = true;
    say("Skipping…");
    try {
      const result = await api("POST", url(cfg.skipUrl, lease.assignment),
        { flags: flags || [], flagged_images: flagged || [] });
      if (result.status !== 200 && result.status !== 409) {
        say((result.data && result.data.detail) || "The skip was refused.");
        state.busy = false;
        return;
      }
    } catch (e) {
      say("Could not reach the server; try again.");
      state.busy = false;
      return;
    }
    state.busy = false;
    fetchNext();
  }
  $("skip").addEventListener("click", () => skip());

  function openFlagDialog() {
    const lease = state.lease;
    if (!lease || state.busy) return;
    const box = $("flag-images");
    box.replaceChildren();
    lease.images.forEach((image, index) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = image.id;
      label.append(input, " Image " + (index + 1));
      box.appendChild(label);
    });
    $("flag-error").textContent = "";
    $("flag-dialog").showModal();
    box.querySelector("input").focus();
  }
  $("flag").addEventListener("click", openFlagDialog);
  $("flag-form").addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.value === "cancel") return;
    const checked = Array.from($("flag-images").querySelectorAll("input:checked")).map((i) => Number(i.value));
    if (!checked.length) {
      event.preventDefault();
      $("flag-error").textContent = "Tick the image (or images) that are broken or unsafe.";
      return;
    }
    const kind = $("flag-form").querySelector("input[name=flag-kind]:checked").value;
    skip([kind], checked);
  });

  // --- guidelines: on the first visit for each version, and on G
  const guidelines = $("guidelines");
  const seenKey = "hpd-guidelines-seen-" + guidelines.dataset.version;
  function showGuidelines() {
    if (!guidelines.open) guidelines.showModal();
  }
  guidelines.addEventListener("close", () => {
    try { localStorage.setItem(seenKey, "1"); } catch (e) { /* private mode */ }
    const first = document.querySelector("#images button");
    if (first && !$("task").hidden) first.focus();
  });
  $("show-guidelines").addEventListener("click", showGuidelines);

  // --- the keyboard contract (docs/hpd_v2.md#the-annotation-guidelines)
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return;  // dialogs handle their own keys
    const key = event.key;
    if (state.feedback) {
      if (key === "Enter") { event.preventDefault(); continueAfterFeedback(); }
      return;
    }
    if (key === "g" || key === "G") { event.preventDefault(); showGuidelines(); return; }
    if (!state.lease) return;
    if (key === "s" || key === "S") { event.preventDefault(); skip(); return; }
    if (key === "f" || key === "F") { event.preventDefault(); openFlagDialog(); return; }
    if (pairwise && (key === "ArrowLeft" || key === "ArrowRight")) {
      event.preventDefault();
      choose(key === "ArrowLeft" ? 0 : 1);
      return;
    }
    if (/^[1-9]$/.test(key)) { event.preventDefault(); choose(Number(key) - 1); return; }
    if (key === "Backspace") { event.preventDefault(); undo(); return; }
    if (key === "Enter" && !pairwise) { event.preventDefault(); submitRanking(); }
  });

  showProgress();
  let seen = false;
  try { seen = localStorage.getItem(seenKey) === "1"; } catch (e) { seen = false; }
  if (!seen) showGuidelines();
  fetchNext();
})();
