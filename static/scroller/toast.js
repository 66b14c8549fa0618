// Small transient messages, stacked in one polite live region.

const DEFAULT_MS = 5000;
const MAX_VISIBLE = 4;

export class Toasts {
  #region;
  #dismissers = new Map();

  constructor(region) {
    this.#region = region;
  }

  info(message) {
    return this.#show(message, {});
  }

  error(message) {
    return this.#show(message, { kind: 'error' });
  }

  /** A toast with an action button; `onAction` runs at most once. */
  action(message, { label, testid, onAction, onDismiss, duration = DEFAULT_MS }) {
    return this.#show(message, { action: { label, testid, onAction }, onDismiss, duration });
  }

  #show(message, { kind = 'info', action = null, onDismiss = null, duration = DEFAULT_MS }) {
    const el = document.createElement('div');
    el.className = `toast toast--${kind}`;
    // role=alert interrupts; only errors deserve that.
    if (kind === 'error') el.setAttribute('role', 'alert');
    const text = document.createElement('span');
    text.textContent = message;
    el.append(text);

    let timer = 0;
    const dismiss = () => {
      clearTimeout(timer);
      if (!this.#dismissers.delete(el)) return;
      el.remove();
      onDismiss?.();
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(dismiss, duration);
    };
    if (action) el.append(actionButton(action, dismiss));
    // Never let a toast expire under the pointer or keyboard focus.
    el.addEventListener('pointerenter', () => clearTimeout(timer));
    el.addEventListener('pointerleave', arm);
    el.addEventListener('focusin', () => clearTimeout(timer));
    el.addEventListener('focusout', arm);

    this.#dismissers.set(el, dismiss);
    this.#region.append(el);
    while (this.#dismissers.size > MAX_VISIBLE) this.#dismissers.values().next().value();
    arm();
    return { dismiss };
  }
}

function actionButton({ label, testid, onAction }, dismiss) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'toast-action';
  button.textContent = label;
  if (testid) button.dataset.testid = testid;
  button.addEventListener('click', () => {
    dismiss();
    onAction();
  }, { once: true });
  return button;
}
