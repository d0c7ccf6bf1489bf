// Progressive enhancement for the todo page. Without this script every
// control is a plain form post. With it, toggle, edit and delete use fetch and
// update the list in place, and tasks can be reordered by drag and drop or by
// keyboard. Errors appear in the #status live region.
"use strict";

(function () {
  const list = document.getElementById("todo-list");
  const statusRegion = document.getElementById("status");
  const emptyState = document.getElementById("empty-state");
  const addForm = document.querySelector(".add-form");
  if (!list || !statusRegion) return;

  // Same limit as the server: code points, not UTF-16 units.
  const maxTextCharacters = 500;
  const unavailableMessage = "Service unavailable, try again.";

  // ---- Messages -----------------------------------------------------------

  function showStatus(message, isError) {
    statusRegion.textContent = message;
    statusRegion.classList.toggle("error", Boolean(isError));
  }

  function sentence(text) {
    const trimmed = String(text).trim();
    if (trimmed === "") return trimmed;
    const capitalized = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(capitalized) ? capitalized : capitalized + ".";
  }

  function quoted(text) {
    return "\u201C" + text + "\u201D";
  }

  // Returns the message to show for a failed response: the server's "error"
  // field when the body is JSON, otherwise the status code.
  async function errorMessage(response) {
    if (response.status === 503) return unavailableMessage;
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") return sentence(body.error);
    } catch (ignored) {
      // Not JSON: fall through to the generic message.
    }
    return "The request failed (HTTP " + response.status + ").";
  }

  // Sends a request and turns a network failure into an Error with a message
  // for the user.
  async function send(url, options) {
    try {
      return await fetch(url, Object.assign({ credentials: "same-origin" }, options));
    } catch (ignored) {
      throw new Error("The server could not be reached. Check your connection and try again.");
    }
  }

  function checkText(text) {
    if (text === "") return "Text must not be empty.";
    const characters = Array.from(text).length;
    if (characters > maxTextCharacters) {
      return "Text is too long: " + characters + " characters, the maximum is " + maxTextCharacters + ".";
    }
    return "";
  }

  // ---- Items --------------------------------------------------------------

  function items() {
    return Array.from(list.querySelectorAll(":scope > li.todo"));
  }

  function itemText(item) {
    return item.querySelector(".text").textContent;
  }

  function setLabel(item, selector, label) {
    const element = item.querySelector(selector);
    if (element) element.setAttribute("aria-label", label);
  }

  // Rewrites every accessible name that contains the item's text or state.
  function refreshLabels(item) {
    const text = quoted(itemText(item));
    const done = item.classList.contains("done");

    const toggle = item.querySelector(".toggle");
    if (toggle) {
      toggle.setAttribute("aria-pressed", done ? "true" : "false");
      toggle.setAttribute("aria-label", "Mark " + text + (done ? " not done" : " done"));
    }
    setLabel(item, ".move-up", "Move " + text + " up");
    setLabel(item, ".move-down", "Move " + text + " down");
    setLabel(item, ".delete", "Delete " + text);

    const summaryName = item.querySelector(".edit summary .visually-hidden");
    if (summaryName) summaryName.textContent = " " + text;
    const editLabel = item.querySelector(".edit-form label");
    if (editLabel) editLabel.textContent = "New text for " + text;
  }

  function refreshEmptyState() {
    if (emptyState) emptyState.hidden = items().length > 0;
  }

  function removeItem(item) {
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    refreshEmptyState();

    // Keep keyboard focus in the list instead of losing it with the item.
    const focusTarget = next ? next.querySelector(".toggle") : addForm && addForm.querySelector("input");
    if (focusTarget) focusTarget.focus();
  }

  // ---- Toggle, edit and delete ------------------------------------------------

  async function toggleItem(form, item) {
    const response = await send(form.action, { method: "POST", headers: { Accept: "application/json" } });
    if (response.status === 404) {
      removeItem(item);
      showStatus("This task no longer exists, so it was removed from the list.", true);
      return;
    }
    if (!response.ok) {
      showStatus(await errorMessage(response), true);
      return;
    }

    const body = await response.json();
    item.classList.toggle("done", body.done === true);
    refreshLabels(item);
    showStatus(quoted(itemText(item)) + (body.done ? " marked done." : " marked not done."), false);
  }

  async function editItem(form, item) {
    const input = form.elements.namedItem("text");
    const text = input.value.trim();
    const problem = checkText(text);
    if (problem !== "") {
      showStatus(problem, true);
      input.focus();
      return;
    }

    const response = await send(form.action, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ text: text }),
    });
    if (!response.ok) {
      showStatus(await errorMessage(response), true);
      input.focus();
      return;
    }

    const body = await response.json();
    item.querySelector(".text").textContent = body.text;
    input.value = body.text;
    refreshLabels(item);
    const details = item.querySelector("details.edit");
    details.open = false;
    details.querySelector("summary").focus();
    showStatus("Saved " + quoted(body.text) + ".", false);
  }

  async function deleteItem(form, item) {
    // The server responds with 303 to "/". With redirect "manual" that arrives
    // as an opaque redirect instead of a second request for the whole page.
    const response = await send(form.action, {
      method: "POST",
      headers: { Accept: "application/json" },
      redirect: "manual",
    });
    if (response.type !== "opaqueredirect" && !response.ok) {
      showStatus(await errorMessage(response), true);
      return;
    }

    const text = itemText(item);
    removeItem(item);
    showStatus("Deleted " + quoted(text) + ".", false);
  }

  const formActions = [
    ["toggle-form", toggleItem],
    ["edit-form", editItem],
    ["delete-form", deleteItem],
  ];

  list.addEventListener("submit", function (event) {
    const form = event.target;
    const item = form.closest("li.todo");
    const entry = formActions.find(function (pair) {
      return form.classList.contains(pair[0]);
    });
    if (!item || !entry) return;

    event.preventDefault();
    if (item.getAttribute("aria-busy") === "true") return;

    item.setAttribute("aria-busy", "true");
    entry[1](form, item)
      .catch(function (error) {
        showStatus(error.message, true);
      })
      .finally(function () {
        item.removeAttribute("aria-busy");
      });
  });

  if (addForm) {
    addForm.addEventListener("submit", function (event) {
      const input = addForm.querySelector("input[name='task']");
      const problem = checkText(input.value.trim());
      // An empty task is left to the server, which ignores it.
      if (problem === "" || input.value.trim() === "") return;
      event.preventDefault();
      showStatus(problem, true);
      input.focus();
    });
  }

  // ---- Reordering ---------------------------------------------------------

  // Ids are read from data-id as strings and written into the JSON by hand,
  // because ids above 2^53 would lose digits as JavaScript numbers.
  function currentOrder() {
    return items()
      .map(function (item) {
        return item.dataset.id;
      })
      .filter(function (id) {
        return /^[0-9]+$/.test(id);
      });
  }

  function sameOrder(first, second) {
    return first.length === second.length && first.every(function (id, index) {
      return id === second[index];
    });
  }

  function restoreOrder(order) {
    const byId = new Map(items().map(function (item) {
      return [item.dataset.id, item];
    }));
    order.forEach(function (id) {
      const item = byId.get(id);
      if (item) list.appendChild(item);
    });
  }

  function describePosition(item) {
    const all = items();
    return "Moved " + quoted(itemText(item)) + " to position " + (all.indexOf(item) + 1) + " of " + all.length + ".";
  }

  // The order the server has confirmed. Moves made while a request is in
  // flight are sent afterwards as one request with the newest order.
  let savedOrder = currentOrder();
  let saving = false;
  let saveRequested = false;
  let saveAnnouncement = "";

  function requestSave(announcement) {
    saveRequested = true;
    saveAnnouncement = announcement;
    if (!saving) saveOrder();
  }

  async function saveOrder() {
    saving = true;
    while (saveRequested) {
      saveRequested = false;
      const order = currentOrder();
      const announcement = saveAnnouncement;
      try {
        const response = await send("/reorder", {
          method: "POST",
          headers: { Accept: "application/json", "Content-Type": "application/json" },
          body: '{"order":[' + order.join(",") + "]}",
        });
        if (!response.ok) throw new Error(await errorMessage(response));
        savedOrder = order;
        showStatus(announcement, false);
      } catch (error) {
        restoreOrder(savedOrder);
        saveRequested = false;
        showStatus(error.message + " The previous order was restored.", true);
      }
    }
    saving = false;
  }

  function moveItem(item, direction, focusTarget) {
    const sibling = direction < 0 ? item.previousElementSibling : item.nextElementSibling;
    if (!sibling) {
      showStatus(quoted(itemText(item)) + (direction < 0 ? " is already first." : " is already last."), false);
      return;
    }

    if (direction < 0) list.insertBefore(item, sibling);
    else list.insertBefore(sibling, item);
    // Moving a node can drop its focus, so put it back.
    if (focusTarget) focusTarget.focus();
    requestSave(describePosition(item));
  }

  list.addEventListener("click", function (event) {
    const button = event.target.closest("button.move-up, button.move-down");
    if (!button) return;
    const item = button.closest("li.todo");
    moveItem(item, button.classList.contains("move-up") ? -1 : 1, button);
  });

  list.addEventListener("keydown", function (event) {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    const item = event.target.closest("li.todo");
    if (!item) return;
    event.preventDefault();
    moveItem(item, event.key === "ArrowUp" ? -1 : 1, event.target);
  });

  // NOTE: drag and drop has not been run in a real browser yet. The jsdom
  // check of this script covers the buttons and Alt+Arrow keys, not DataTransfer.
  let dragged = null;
  let orderBeforeDrag = [];

  list.addEventListener("dragstart", function (event) {
    const handle = event.target instanceof Element ? event.target.closest(".drag-handle") : null;
    if (!handle) return;

    dragged = handle.closest("li.todo");
    orderBeforeDrag = currentOrder();
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.id);
    event.dataTransfer.setDragImage(dragged, 16, 16);
  });

  list.addEventListener("dragover", function (event) {
    if (!dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";

    const target = event.target instanceof Element ? event.target.closest("li.todo") : null;
    if (!target || target === dragged) return;
    const box = target.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? target.nextElementSibling : target);
  });

  list.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });

  list.addEventListener("dragend", function (event) {
    if (!dragged) return;
    const item = dragged;
    dragged = null;
    item.classList.remove("dragging");

    // A cancelled drag (Escape, or dropped outside the list) puts the item back.
    if (event.dataTransfer.dropEffect === "none") {
      restoreOrder(orderBeforeDrag);
      return;
    }
    if (sameOrder(orderBeforeDrag, currentOrder())) return;
    requestSave(describePosition(item));
  });

  // The reorder controls need this script, so the page renders them hidden.
  list.querySelectorAll(".drag-handle, .move").forEach(function (element) {
    element.hidden = false;
  });
})();

// Export with script: start the job with fetch, poll its state, and show a
// download link in the #export-status live region when it is ready.
(function () {
  const form = document.querySelector(".export-form");
  const status = document.getElementById("export-status");
  if (!form || !status) return;

  const pollIntervalMs = 500;
  const stateText = { PENDING: "Export queued\u2026", STARTED: "Export running\u2026", RETRY: "Export failed once, retrying\u2026" };

  function showText(message, isError) {
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
  }

  function showDownload(taskId, rows) {
    status.textContent = "Export ready: ";
    status.classList.remove("error");
    const link = document.createElement("a");
    link.href = "/download/" + encodeURIComponent(taskId);
    link.setAttribute("download", "");
    link.textContent = "Download CSV (" + rows + (rows === 1 ? " task)" : " tasks)");
    status.appendChild(link);
  }

  async function readError(response) {
    if (response.status === 503) return "Export is unavailable right now, try again shortly.";
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") return "Export failed: " + body.error;
    } catch (ignored) {
      // Not JSON: use the status code.
    }
    return "Export failed (HTTP " + response.status + ").";
  }

  function wait(milliseconds) {
    return new Promise(function (resolve) {
      setTimeout(resolve, milliseconds);
    });
  }

  async function poll(taskId) {
    for (;;) {
      const response = await fetch("/tasks/" + encodeURIComponent(taskId), { headers: { Accept: "application/json" } });
      if (!response.ok) {
        showText(await readError(response), true);
        return;
      }
      const task = await response.json();
      if (task.state === "SUCCESS") {
        showDownload(taskId, task.info);
        return;
      }
      if (task.state === "FAILURE") {
        showText("Export failed: " + (task.info || "unknown error"), true);
        return;
      }
      showText(stateText[task.state] || "Export " + task.state, false);
      await wait(pollIntervalMs);
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const button = form.querySelector("button");
    const choice = form.querySelector("select").value;
    const body = choice === "" ? {} : { filters: { done: choice === "true" } };
    button.disabled = true;
    showText("Starting export\u2026", false);
    try {
      const response = await fetch("/export", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      if (response.status !== 202) {
        showText(await readError(response), true);
        return;
      }
      const started = await response.json();
      await poll(started.task_id);
    } catch (ignored) {
      showText("The server could not be reached. Check your connection and try again.", true);
    } finally {
      button.disabled = false;
    }
  });
})();
