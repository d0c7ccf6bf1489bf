// Progressive enhancement for the todo page. Without this script every
// control is a plain form post. With it, add, toggle, edit and delete use
// fetch and update the list in place, edits happen in the row itself, and
// tasks can be reordered by drag and drop or by keyboard. Results and add
// errors appear in the #status live region. An error of one task appears in
// that task's row as an alert.
"use strict";

(function () {
  const list = document.getElementById("todo-list");
  const statusRegion = document.getElementById("status");
  const emptyState = document.getElementById("empty-state");
  const taskCount = document.getElementById("task-count");
  const reorderHint = document.getElementById("reorder-hint");
  const itemTemplate = document.getElementById("todo-template");
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

  // Marks a text field as invalid and describes it by the element that
  // shows the message, or clears both when messageElement is null.
  function markInvalid(input, messageElement) {
    if (!messageElement) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      return;
    }
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", messageElement.id);
  }

  // Shows an error in the task's own row, in an element with role "alert"
  // so that screen readers announce it, and returns that element. An empty
  // message removes it and returns null.
  function showItemError(item, message) {
    let element = item.querySelector(".item-error");
    if (message === "") {
      if (element) element.remove();
      return null;
    }
    if (!element) {
      element = document.createElement("p");
      element.className = "item-error";
      element.id = "error-" + item.dataset.id;
      element.setAttribute("role", "alert");
      item.appendChild(element);
    }
    element.textContent = message;
    return element;
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
    if (text === "") return "Enter some text first.";
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

  // Updates the empty state, the reorder hint and the "2 of 5 done" count,
  // which uses the same words as the server's page.
  function refreshSummary() {
    const all = items();
    if (emptyState) emptyState.hidden = all.length > 0;
    if (reorderHint) reorderHint.hidden = all.length < 2;
    if (!taskCount) return;
    const done = all.filter(function (item) {
      return item.classList.contains("done");
    }).length;
    taskCount.hidden = all.length === 0;
    taskCount.textContent = done + " of " + all.length + " done";
  }

  function removeItem(item) {
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    refreshSummary();

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
      showItemError(item, await errorMessage(response));
      return;
    }

    const body = await response.json();
    item.classList.toggle("done", body.done === true);
    refreshLabels(item);
    refreshSummary();
    showItemError(item, "");
    showStatus(quoted(itemText(item)) + (body.done ? " marked done." : " marked not done."), false);
  }

  // Editing in place: the row's text is replaced by the edit form, which
  // without the script opens under the row as a disclosure instead.
  function startEditing(item) {
    const details = item.querySelector("details.edit");
    if (!details || item.classList.contains("editing")) return;
    const input = details.querySelector("input[name='text']");
    input.value = itemText(item);
    item.classList.add("editing");
    details.open = true;
    input.focus();
    input.select();
  }

  function stopEditing(item) {
    const details = item.querySelector("details.edit");
    const input = details.querySelector("input[name='text']");
    item.classList.remove("editing");
    details.open = false;
    input.value = itemText(item);
    markInvalid(input, null);
    showItemError(item, "");
    details.querySelector("summary").focus();
  }

  async function editItem(form, item) {
    const input = form.elements.namedItem("text");
    const text = input.value.trim();
    const problem = checkText(text);
    if (problem !== "") {
      markInvalid(input, showItemError(item, problem));
      input.focus();
      return;
    }

    const response = await send(form.action, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ text: text }),
    });
    if (!response.ok) {
      markInvalid(input, showItemError(item, await errorMessage(response)));
      input.focus();
      return;
    }

    const body = await response.json();
    item.querySelector(".text").textContent = body.text;
    refreshLabels(item);
    stopEditing(item);
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
      showItemError(item, await errorMessage(response));
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
        showItemError(item, error.message);
      })
      .finally(function () {
        item.removeAttribute("aria-busy");
      });
  });

  list.addEventListener("click", function (event) {
    const item = event.target.closest("li.todo");
    if (!item) return;
    if (event.target.closest(".edit summary")) {
      // The summary would open the disclosure under the row.
      event.preventDefault();
      startEditing(item);
    } else if (event.target.closest("button.cancel-edit")) {
      stopEditing(item);
    }
  });

  list.addEventListener("dblclick", function (event) {
    const text = event.target.closest(".text");
    if (text) startEditing(text.closest("li.todo"));
  });

  list.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest(".edit-form")) return;
    event.preventDefault();
    stopEditing(event.target.closest("li.todo"));
  });

  // ---- Adding ---------------------------------------------------------------

  // Lets the script check the edit field and show its own message, in
  // place of the browser's bubble.
  function checkEditsByScript(item) {
    const editForm = item.querySelector(".edit-form");
    if (!editForm) return;
    editForm.noValidate = true;
    // The limit is checked with a message instead of cutting the text short.
    editForm.querySelectorAll("input[maxlength]").forEach(function (field) {
      field.removeAttribute("maxlength");
    });
  }

  // Sets a new row's id and text into a copy of the page's item template:
  // the form actions, the edit field's id and label, and every label.
  function createItem(id, todo) {
    const item = itemTemplate.content.firstElementChild.cloneNode(true);
    item.dataset.id = id;
    item.classList.toggle("done", todo.done === true);
    item.querySelector(".text").textContent = todo.text;
    item.querySelector(".toggle-form").action = "/toggle/" + id;
    item.querySelector(".edit-form").action = "/edit/" + id;
    item.querySelector(".delete-form").action = "/delete/" + id;

    const input = item.querySelector(".edit-form input[name='text']");
    input.id = "edit-" + id;
    input.value = todo.text;
    item.querySelector(".edit-form label").htmlFor = input.id;

    checkEditsByScript(item);
    refreshLabels(item);
    return item;
  }

  // Adds by the JSON API, which returns the new row, so the page needs no
  // reload and the typed text stays in the field when the add fails.
  async function addItem(input) {
    const response = await send("/api/todos", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ text: input.value.trim() }),
    });
    if (response.status !== 201) {
      showStatus(await errorMessage(response), true);
      markInvalid(input, statusRegion);
      return;
    }

    // The id is taken from Location (/api/todos/<id>) as a string, because
    // ids above 2^53 would lose digits as JavaScript numbers.
    const location = response.headers.get("Location") || "";
    const todo = await response.json();
    const id = /^\/api\/todos\/([0-9]+)$/.exec(location)?.[1] ?? String(todo.id);
    list.appendChild(createItem(id, todo));
    noteAdded(id);
    refreshSummary();
    input.value = "";
    markInvalid(input, null);
    showStatus("Added " + quoted(todo.text) + ".", false);
  }

  if (addForm && itemTemplate) {
    const input = addForm.querySelector("input[name='task']");
    const button = addForm.querySelector("button[type='submit']");
    // The script shows its own messages in place of the browser's bubbles,
    // and checks the limit with a message instead of cutting the text short.
    addForm.noValidate = true;
    input.removeAttribute("maxlength");

    addForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.disabled) return;
      const problem = checkText(input.value.trim());
      if (problem !== "") {
        showStatus(problem, true);
        markInvalid(input, statusRegion);
        input.focus();
        return;
      }

      button.disabled = true;
      addItem(input)
        .catch(function (error) {
          showStatus(error.message, true);
          markInvalid(input, statusRegion);
        })
        .finally(function () {
          button.disabled = false;
          input.focus();
        });
    });

    input.addEventListener("input", function () {
      if (input.getAttribute("aria-invalid") === "true") markInvalid(input, null);
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
      if (!item) return;
      list.appendChild(item);
      byId.delete(id);
    });
    // Rows that the order does not name keep their relative order at the end.
    byId.forEach(function (item) {
      list.appendChild(item);
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

  // The server puts a new task last, so the confirmed order gains it there.
  function noteAdded(id) {
    savedOrder.push(id);
  }

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
    if (!item || item.classList.contains("editing")) return;
    event.preventDefault();
    moveItem(item, event.key === "ArrowUp" ? -1 : 1, event.target);
  });

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

  items().forEach(checkEditsByScript);
})();

// Export with script: start the job with fetch, poll its state, and show a
// download link in the #export-status live region when it is ready.
(function () {
  const form = document.querySelector(".export-form");
  const status = document.getElementById("export-status");
  if (!form || !status) return;

  // Polling starts at firstPollMs and slows down by pollGrowth per round,
  // up to maxPollMs, so a long export costs few requests.
  const firstPollMs = 250;
  const maxPollMs = 5000;
  const pollGrowth = 1.5;
  const stateText = { PENDING: "Export queued\u2026", STARTED: "Export running\u2026", RETRY: "Export failed once, retrying\u2026" };

  // `busy` shows the progress indicator next to the message.
  function showText(message, isError, busy) {
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
    status.classList.toggle("busy", Boolean(busy));
  }

  function showDownload(taskId, rows) {
    status.textContent = "Export ready: ";
    status.classList.remove("error", "busy");
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
    let delayMs = firstPollMs;
    for (;;) {
      let response;
      try {
        response = await fetch("/tasks/" + encodeURIComponent(taskId), { headers: { Accept: "application/json" } });
      } catch (ignored) {
        response = null;
      }
      // The job goes on in the worker whatever happens to one status check,
      // so only a job that does not exist ends the polling.
      if (response && response.status === 404) {
        showText(await readError(response), true);
        return;
      }
      if (!response || !response.ok) {
        showText("Export still running; the status is not available right now, checking again\u2026", false, true);
        await wait(delayMs);
        delayMs = Math.min(maxPollMs, delayMs * pollGrowth);
        continue;
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
      showText(stateText[task.state] || "Export " + task.state, false, true);
      await wait(delayMs);
      delayMs = Math.min(maxPollMs, delayMs * pollGrowth);
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const button = form.querySelector("button");
    const choice = form.querySelector("select").value;
    const body = choice === "" ? {} : { filters: { done: choice === "true" } };
    button.disabled = true;
    showText("Starting export\u2026", false, true);
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
