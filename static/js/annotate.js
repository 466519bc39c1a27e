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
  const ties = cfg.allowTies === "1";
  // The Undo button stays this long after a submit (U works as long as the server allows).
  const UNDO_SHOWN_MS = 10000;
  // Phones and tablets: the instructions speak of taps.
  const touch = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
  // Rankings of 10 or more images: "1" waits this long for a second digit (10 to 16).
  const SECOND_DIGIT_MS = 700;

  const state = {
    lease: null,        // the task on screen
    order: [],          // image ids chosen so far, best first
    tied: [],           // per placed image: tied with the one placed before it
    undoTimer: null,    // hides the Undo button
    submitted: false,   // a judgment was sent from this page: U may take it back
    shownAt: 0,         // when the task appeared (for duration_ms)
    key: null,          // Idempotency-Key of the current assignment
    busy: false,        // a request is in flight: ignore keys
    feedback: null,     // a calibration feedback panel awaiting Continue
    digit: null,        // a pending "1" of a two-digit image number, and its timer
    done: Number(cfg.done),
    today: Number(cfg.today),
    left: Number(cfg.left),
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
    $("today").textContent = state.today + " today";
    $("left").textContent = state.left + " left for you";
    $("session-count").textContent = state.session + " this session";
  }

  function counted(delta) {
    // One more judgment stored (or, undone, one less): the figures move without asking
    // the server.
    const d = delta === undefined ? 1 : delta;
    state.done += d;
    state.today += d;
    state.session += d;
    state.left = Math.max(0, state.left - d);
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

  // Preload and decode the images so the task appears whole, not piece by piece; the
  // decoded elements themselves are what show() puts on the page.
  function preload(lease) {
    return Promise.all(lease.images.map((image) => {
      const img = new Image();
      img.src = image.url;
      return img.decode().then(() => img, () => img);
    }));
  }

  // --- leasing ahead: while a task is judged, the next one is leased to this annotator
  // (GET next/?ahead_of=, at most two leases each) and its images decoded, so that it
  // appears the moment the key is pressed; the judgment is sent meanwhile. A lease held
  // ahead and never shown simply expires on the server, like any other.
  const EXPIRY_MARGIN_MS = 15000;  // a lease held ahead this close to its deadline is not shown
  const ahead = { lease: null, images: null, deadline: 0, asking: false, sending: 0 };
  let sent = Promise.resolve();  // the judgments sent in the background, in order

  function clearAhead() {
    ahead.lease = null;
    ahead.images = null;
    delete root.dataset.ahead;
  }

  async function prefetch() {
    const shown = state.lease;
    // While a judgment is on its way its assignment is still leased: asking now could
    // be answered with that very task.
    if (!shown || shown.is_calibration || ahead.lease || ahead.asking || ahead.sending) return;
    ahead.asking = true;
    try {
      const result = await api("GET", cfg.nextUrl + "?ahead_of=" + shown.assignment);
      const lease = result.status === 200 ? result.data : null;
      if (!lease || !state.lease || lease.assignment === state.lease.assignment) return;
      ahead.lease = lease;
      ahead.deadline = performance.now() + lease.expires_in_s * 1000;
      const images = await preload(lease);
      if (ahead.lease !== lease) return;
      ahead.images = images;
      root.dataset.ahead = String(lease.assignment);
    } catch (e) {
      // No lease ahead: the next task then comes with the submit, as it always could.
    } finally {
      ahead.asking = false;
    }
  }

  function takeAhead() {
    // The task held ahead if its images are decoded and its lease has time left.
    const lease = ahead.lease;
    const images = ahead.images;
    const fresh = performance.now() < ahead.deadline - EXPIRY_MARGIN_MS;
    clearAhead();
    if (!lease || !images || !fresh || (state.lease && lease.assignment === state.lease.assignment)) {
      return null;
    }
    return { lease: lease, images: images };
  }

  async function fetchNext() {
    state.busy = true;
    try {
      const result = await api("GET", cfg.nextUrl);
      if (result.status === 200) {
        show(result.data, await preload(result.data));
        setTimeout(prefetch, 0);
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

  function instructions(count) {
    if (touch) {
      return pairwise
        ? "Which image is better? Tap it" + (ties ? ", or \u201cAbout the same\u201d" : "") + ". Tap the magnifier to see both at full size."
        : "Tap the images from best to worst" + (ties ? " (\u201cTie last two\u201d puts the last on the same level)" : "") + "; \u201cUndo last\u201d takes one back, then tap Submit.";
    }
    if (pairwise) {
      return "Which image is better? Press 1 or Left for the left image, 2 or Right for the right image" +
        (ties ? ", 3 or T if they are about the same" : "") + ". Z zooms; U takes your last judgment back.";
    }
    const keys = count <= 9
      ? "1 to " + count
      : "1 to 9, and for 10 to " + count + " both digits (1 then 0 for 10)";
    return "Press the image numbers from best to worst (" + keys + "), or click them." +
      (ties ? " T ties the last placed image with the one before it." : "") +
      " Backspace undoes; Enter submits; Z zooms; U takes your last judgment back.";
  }

  function show(lease, decoded) {
    if (ahead.lease && ahead.lease.assignment === lease.assignment) clearAhead();
    state.lease = lease;
    state.order = [];
    state.tied = [];
    resetReasons();
    state.key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
    $("done").hidden = true;
    $("feedback").hidden = true;
    $("task").hidden = false;
    $("calibration-note").hidden = !lease.is_calibration;
    const prompt = $("prompt");
    prompt.replaceChildren(highlightNames(lease.prompt));
    const count = lease.images.length;
    $("instructions").textContent = instructions(count);
    const grid = $("images");
    grid.className = "images images-" + count + (pairwise ? " images-pair" : "");
    grid.replaceChildren();
    lease.images.forEach((image, index) => {
      const cell = document.createElement("div");
      cell.className = "image-cell";
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
      const img = (decoded && decoded[index]) || document.createElement("img");
      if (!img.src) img.src = image.url;
      img.alt = "Image " + (index + 1);
      button.append(img, number, rank);
      button.addEventListener("click", () => choose(index));
      const zoom = document.createElement("button");
      zoom.type = "button";
      zoom.className = "image-zoom";
      zoom.textContent = "\u2315";
      zoom.setAttribute("aria-label", "Zoom image " + (index + 1) + " to full size");
      zoom.addEventListener("click", () => openZoom(index));
      cell.append(button, zoom);
      button.addEventListener("dragstart", (event) => {
        event.dataTransfer.setData("text/plain", String(image.id));
      });
      grid.appendChild(cell);
    });
    $("order-area").hidden = pairwise;
    renderOrder();
    state.shownAt = performance.now();
    say((lease.is_calibration ? "Calibration task. " : "") + "New task: " + count + " images.");
    fitImages();
    // No position cue: the focus goes to the task as a whole, never to one image, so
    // nothing sets one image apart before the annotator acts.
    $("task").focus({ preventScroll: true });
  }

  // Phones: the images share the height left under the prompt (both of a pair, and the
  // order list and Submit of a ranking, stay on screen whatever the prompt's length).
  const narrow = window.matchMedia("(max-width: 40rem)");
  const MIN_IMAGE_PX = 140;
  function fitImages() {
    const grid = $("images");
    if (!narrow.matches || $("task").hidden || !state.lease) {
      grid.style.removeProperty("--image-max");
      return;
    }
    const count = state.lease.images.length;
    const rows = pairwise ? 2 : Math.ceil(count / 2);
    // What must stay on screen under the images: a pair's tie button and reasons (chosen
    // before the tap that decides), a ranking's order and Submit.
    const extras = pairwise
      ? [document.querySelector(".pair-actions"), $("reasons")]
      : [$("order-area")];
    const below = extras.reduce((sum, el) => sum + (el && !el.hidden ? el.getBoundingClientRect().height + 12 : 0), 0);
    const top = grid.getBoundingClientRect().top + window.scrollY;
    const free = window.innerHeight - top - below - 8 * rows;
    const each = Math.max(MIN_IMAGE_PX, Math.floor(free / rows) - 6);
    grid.style.setProperty("--image-max", each + "px");
  }
  window.addEventListener("resize", fitImages);

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
    state.tied.push(false);
    renderOrder();
    say("Image " + (index + 1) + " placed " + state.order.length + " of " + lease.images.length + ".");
  }

  function undo() {
    if (pairwise || !state.order.length) return;
    state.order.pop();
    state.tied.pop();
    renderOrder();
    say("Undone. " + state.order.length + " placed.");
  }

  // --- ties: the last placed image on the same level as the one before it (T again
  // separates them); a pair judged about the same (3 or T).
  function tieLast() {
    if (!ties || pairwise || !state.lease || state.busy || state.feedback) return;
    const last = state.order.length - 1;
    if (last < 1) {
      say("Place two images first; T then puts the last one on the same level as the one before it.");
      return;
    }
    state.tied[last] = !state.tied[last];
    renderOrder();
    say("Image " + (positionOf(state.order[last]) + 1) + (state.tied[last] ? " tied with " : " no longer tied with ") +
      "image " + (positionOf(state.order[last - 1]) + 1) + ".");
  }

  function tiePair() {
    const lease = state.lease;
    if (!ties || !pairwise || !lease || state.busy || state.feedback) return;
    submit(lease.images.map((image) => image.id), [0, 0]);
  }

  function levelsOf(tied) {
    // [] for a strict order; else the level of each placed image (annotation/judging/ties.py).
    if (!tied.some((t) => t)) return [];
    const levels = [];
    tied.forEach((t, i) => levels.push(i === 0 ? 0 : levels[i - 1] + (t ? 0 : 1)));
    return levels;
  }

  // --- reasons: chips toggled before the decision, and a note
  function resetReasons() {
    document.querySelectorAll(".reason-chip").forEach((chip) => chip.setAttribute("aria-pressed", "false"));
    if ($("note")) $("note").value = "";
  }

  function chosenReasons() {
    return Array.from(document.querySelectorAll(".reason-chip[aria-pressed=true]")).map((chip) => chip.dataset.reason);
  }

  document.querySelectorAll(".reason-chip").forEach((chip) => {
    chip.addEventListener("click", () => {
      const on = chip.getAttribute("aria-pressed") !== "true";
      chip.setAttribute("aria-pressed", on ? "true" : "false");
      say("Reason \u201c" + chip.dataset.reason + "\u201d " + (on ? "chosen." : "removed."));
    });
  });
  if ($("note")) {
    $("note").addEventListener("keydown", (event) => {
      // Enter or Escape: back to the images, where the keys choose again.
      if (event.key === "Enter" || event.key === "Escape") {
        event.preventDefault();
        $("task").focus({ preventScroll: true });
      }
    });
  }
  if ($("tie-pair")) $("tie-pair").addEventListener("click", () => tiePair());
  if ($("tie-last")) $("tie-last").addEventListener("click", () => tieLast());

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
      if (state.tied[rankIndex]) {
        item.classList.add("tied");
        item.setAttribute("aria-label", "Image " + (positionOf(id) + 1) + ", tied with the one before");
      }
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
    // Tied images share the best rank of their level (1, 1, 3).
    const levels = levelsOf(state.tied);
    const shared = state.order.map((_, i) => (levels.length ? levels.indexOf(levels[i]) : i));
    document.querySelectorAll("#images .image-choice").forEach((button) => {
      const placed = state.order.indexOf(Number(button.dataset.id));
      const rank = placed >= 0 ? shared[placed] : -1;
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
    state.tied = order.map(() => false);  // a moved image starts a level of its own
    renderOrder();
  }

  $("order").addEventListener("dragover", (event) => event.preventDefault());
  $("order").addEventListener("drop", (event) => {
    if (event.target !== $("order")) return;
    event.preventDefault();
    moveBefore(Number(event.dataTransfer.getData("text/plain")), state.order.length);
  });
  $("submit").addEventListener("click", () => submitRanking());
  $("undo-last").addEventListener("click", () => undo());

  function submitRanking() {
    if (pairwise || !state.lease) return;
    if (state.order.length !== state.lease.images.length) {
      say("Place all " + state.lease.images.length + " images before submitting (" + state.order.length + " placed).");
      return;
    }
    submit(state.order.slice(), levelsOf(state.tied));
  }

  // --- submit, skip, flag
  function submit(ranking, levels) {
    const lease = state.lease;
    const body = { ranking: ranking, duration_ms: Math.round(performance.now() - state.shownAt), flags: [] };
    if (levels && levels.length) body.levels = levels;
    const reasons = chosenReasons();
    if (reasons.length) body.reasons = reasons;
    const note = $("note") ? $("note").value.trim() : "";
    if (note) body.note = note;
    offerUndo(lease);
    const next = lease.is_calibration ? null : takeAhead();
    if (!next) {
      submitAndWait(body);
      return;
    }
    // The next task is on screen at once; the judgment follows in the background.
    const key = state.key;
    ahead.sending += 1;
    show(next.lease, next.images);
    sent = sent.then(() => sendInBackground(lease, key, body));
  }

  async function sendInBackground(lease, key, body) {
    for (let attempt = 1; ; attempt++) {
      let result;
      try {
        result = await api("POST", url(cfg.submitUrl, lease.assignment), body, { "Idempotency-Key": key });
      } catch (e) {
        // Same key on retry: the server stores the judgment once whatever happens.
        say("Could not reach the server; your last judgment is kept and will be sent again (try " + attempt + ").");
        await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 1000 * attempt)));
        continue;
      }
      ahead.sending -= 1;
      if (result.status === 201 || result.status === 200) {
        if (result.status === 201) { counted(); }
        showProgress();
        prefetch();
      } else {
        withdrawUndo();
        say("Your judgment of the previous task was not stored: " +
          ((result.data && result.data.detail) || "refused (" + result.status + ")."));
      }
      return;
    }
  }

  async function submitAndWait(body, attempt) {
    // No task held ahead: send, and show the next task that comes with the answer.
    const lease = state.lease;
    state.busy = true;
    await sent;
    say("Saving…");
    let result;
    try {
      result = await api("POST", url(cfg.submitUrl, lease.assignment) + "?next=1", body,
        { "Idempotency-Key": state.key });
    } catch (e) {
      // Same key on retry: the server stores the judgment once whatever happens.
      const n = (attempt || 0) + 1;
      say("Could not reach the server; your judgment is kept and will be sent again (try " + n + ").");
      setTimeout(() => submitAndWait(body, n), Math.min(8000, 1000 * n));
      return;
    }
    if (result.status === 201 || result.status === 200) {
      if (result.status === 201 && !lease.is_calibration) { counted(); }
      showProgress();
      const next = result.data.next;
      if (result.data.calibration) {
        state.busy = false;
        showFeedback(result.data.calibration, lease, next);
      } else {
        // Still busy while the next task's images load: a key pressed meanwhile must not
        // judge the task just submitted a second time.
        await advance(next);
        state.busy = false;
      }
      return;
    }
    state.busy = false;
    if (result.status === 409 || result.status === 403 || result.status === 404) {
      withdrawUndo();
      say((result.data && result.data.detail) || "This task is no longer yours.");
      fetchNext();
    } else {
      withdrawUndo();
      say((result.data && result.data.detail) || "The judgment was refused (" + result.status + ").");
    }
  }

  // --- undo: U (or the button shown for UNDO_SHOWN_MS after a submit) takes the last
  // judgment back and shows its task again, leased anew (annotation/judging/undo.py).
  function offerUndo(lease) {
    if (lease.is_calibration) return;  // its feedback is shown at once; it cannot be undone
    state.submitted = true;
    $("undo-judgment").hidden = false;
    clearTimeout(state.undoTimer);
    state.undoTimer = setTimeout(() => { $("undo-judgment").hidden = true; }, UNDO_SHOWN_MS);
  }

  function withdrawUndo() {
    // The judgment was not stored: U must not take back an older one instead.
    state.submitted = false;
    clearTimeout(state.undoTimer);
    $("undo-judgment").hidden = true;
  }

  async function undoJudgment() {
    if (!state.submitted || state.busy || state.feedback) return;
    state.busy = true;
    clearTimeout(state.undoTimer);
    $("undo-judgment").hidden = true;
    say("Undoing your last judgment…");
    await sent;
    let result;
    try {
      result = await api("POST", cfg.undoUrl);
    } catch (e) {
      state.busy = false;
      say("Could not reach the server; your last judgment stays. Try U again.");
      return;
    }
    if (result.status !== 200) {
      state.busy = false;
      say((result.data && result.data.detail) || "Your last judgment could not be undone (" + result.status + ").");
      return;
    }
    state.submitted = false;
    counted(-1);
    showProgress();
    clearAhead();
    const lease = result.data.lease;
    const images = await preload(lease);
    state.busy = false;
    show(lease, images);
    say("Undone: judge this task again. Your new judgment replaces the old one.");
    setTimeout(prefetch, 0);
  }
  $("undo-judgment").addEventListener("click", () => undoJudgment());

  async function advance(next) {
    if (next) {
      show(next, await preload(next));
      prefetch();
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
    await sent;
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
    const next = takeAhead();
    if (next) {
      show(next.lease, next.images);
      prefetch();
    } else {
      fetchNext();
    }
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
    if (!$("task").hidden) $("task").focus({ preventScroll: true });
  });
  $("show-guidelines").addEventListener("click", showGuidelines);

  // --- image numbers by key: one digit up to 9 images; from 10 images on, "1" followed
  // quickly by a second digit means 10 to 16 (the importer's limit), and "1" alone
  // chooses image 1 once SECOND_DIGIT_MS passes or another key is pressed.
  function digit(d) {
    const lease = state.lease;
    if (!lease || pairwise && d === 0) return;
    const count = lease.images.length;
    if (state.digit) {
      clearTimeout(state.digit.timer);
      state.digit = null;
      const n = 10 + d;
      if (n <= count) { choose(n - 1); return; }
      chooseOne();
    }
    if (count >= 10 && d === 1) {
      state.digit = { timer: setTimeout(flushDigit, SECOND_DIGIT_MS) };
      say("1\u2026 (a second digit now chooses image 10 to " + count + ")");
      return;
    }
    if (d >= 1) choose(d - 1);
  }

  function chooseOne() {
    // "1" alone: image 1, unless already placed (then the "1" led nowhere).
    if (state.lease && !state.order.includes(state.lease.images[0].id)) choose(0);
    else say("Image 1 is already placed.");
  }

  function flushDigit() {
    if (!state.digit) return;
    clearTimeout(state.digit.timer);
    state.digit = null;
    chooseOne();
  }

  // --- zoom and compare: Z or a magnifier opens the images at full resolution, side by
  // side, or one at a time with Left/Right; Escape closes.
  const zoomDialog = $("zoom");
  const zoomState = { single: false, index: 0 };

  function openZoom(index) {
    const lease = state.lease;
    if (!lease || state.busy || state.feedback || zoomDialog.open) return;
    const box = $("zoom-images");
    box.replaceChildren();
    lease.images.forEach((image, i) => {
      const figure = document.createElement("figure");
      figure.className = "zoom-figure";
      const img = document.createElement("img");
      img.src = image.url;
      img.alt = "Image " + (i + 1) + " at full resolution";
      const caption = document.createElement("figcaption");
      caption.textContent = pairwise ? (i === 0 ? "Left (1)" : "Right (2)") : "Image " + (i + 1);
      figure.append(caption, img);
      box.appendChild(figure);
    });
    zoomState.index = index;
    zoomState.single = index > 0;
    renderZoom();
    zoomDialog.showModal();
    $("zoom-close").focus();
  }

  function renderZoom() {
    const figures = $("zoom-images").querySelectorAll("figure");
    figures.forEach((figure, i) => { figure.hidden = zoomState.single && i !== zoomState.index; });
    $("zoom-images").classList.toggle("zoom-single", zoomState.single);
    $("zoom-mode").textContent = zoomState.single ? "Side by side" : "One at a time";
    $("zoom-where").textContent = zoomState.single
      ? "Image " + (zoomState.index + 1) + " of " + figures.length
      : "All " + figures.length + (narrow.matches ? " together" : " side by side");
  }

  function stepZoom(delta) {
    const count = $("zoom-images").querySelectorAll("figure").length;
    if (!zoomState.single) { zoomState.single = true; zoomState.index = delta > 0 ? 0 : count - 1; }
    else zoomState.index = (zoomState.index + delta + count) % count;
    renderZoom();
  }

  $("zoom-open").addEventListener("click", () => openZoom(0));
  $("zoom-mode").addEventListener("click", () => { zoomState.single = !zoomState.single; renderZoom(); });
  $("zoom-prev").addEventListener("click", () => stepZoom(-1));
  $("zoom-next").addEventListener("click", () => stepZoom(1));
  zoomDialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      stepZoom(event.key === "ArrowLeft" ? -1 : 1);
    } else if (event.key === "z" || event.key === "Z") {
      event.preventDefault();
      zoomDialog.close();
    }
  });
  zoomDialog.addEventListener("close", () => {
    $("zoom-images").replaceChildren();
    if (!$("task").hidden) $("task").focus({ preventScroll: true });
  });

  // --- the keyboard contract (docs/hpd_v2.md#the-annotation-guidelines)
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return;  // dialogs handle their own keys
    if (event.target.closest && event.target.closest("input, textarea")) return;  // typing a note
    const key = event.key;
    if (state.feedback) {
      if (key === "Enter") { event.preventDefault(); continueAfterFeedback(); }
      return;
    }
    if (key === "g" || key === "G") { event.preventDefault(); showGuidelines(); return; }
    if (key === "u" || key === "U") { event.preventDefault(); flushDigit(); undoJudgment(); return; }
    if (!state.lease) return;
    if (key === "r" || key === "R") {
      const chip = document.querySelector(".reason-chip");
      if (chip) { event.preventDefault(); chip.focus(); }
      return;
    }
    if ((key === "t" || key === "T") && ties) { event.preventDefault(); flushDigit(); pairwise ? tiePair() : tieLast(); return; }
    if (pairwise && ties && key === "3") { event.preventDefault(); tiePair(); return; }
    if (key === "s" || key === "S") { event.preventDefault(); flushDigit(); skip(); return; }
    if (key === "f" || key === "F") { event.preventDefault(); flushDigit(); openFlagDialog(); return; }
    if (pairwise && (key === "ArrowLeft" || key === "ArrowRight")) {
      event.preventDefault();
      choose(key === "ArrowLeft" ? 0 : 1);
      return;
    }
    if (key === "z" || key === "Z") { event.preventDefault(); flushDigit(); openZoom(0); return; }
    if (/^[0-9]$/.test(key)) { event.preventDefault(); digit(Number(key)); return; }
    flushDigit();
    if (key === "Backspace") { event.preventDefault(); undo(); return; }
    if (key === "Enter" && !pairwise) { event.preventDefault(); submitRanking(); }
  });

  showProgress();
  let seen = false;
  try { seen = localStorage.getItem(seenKey) === "1"; } catch (e) { seen = false; }
  if (!seen) showGuidelines();
  fetchNext();
})();
