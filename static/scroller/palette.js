// Palette mode: up to three colours, each a hue and how much of the picture it should cover.
//
// The colours travel as the API writes them, `hue:weight` pairs joined by commas
// ("180:60,30:20"), in the page's URL, and as [{hue, weight}] in the websocket's subscribe.

export const MAX_COLORS = 3;
const MAX_TOTAL = 100;
const NEW_COLOR_WEIGHT = 20;

/** [{hue, weight}] from "180:60,30:20", or null when the text is not such a palette. */
export function parseColors(text) {
  if (!text) return null;
  const colors = [];
  for (const part of text.split(',')) {
    const match = /^(\d{1,3}):(\d{1,3})$/.exec(part.trim());
    if (!match) return null;
    const [hue, weight] = [Number(match[1]), Number(match[2])];
    if (hue > 359 || weight < 1 || weight > 100) return null;
    colors.push({ hue, weight });
  }
  const total = colors.reduce((sum, color) => sum + color.weight, 0);
  return colors.length <= MAX_COLORS && total <= MAX_TOTAL ? colors : null;
}

export function formatColors(colors) {
  return colors.map(({ hue, weight }) => `${hue}:${weight}`).join(',');
}

/** The palette panel: a row per colour with a hue and a weight slider, a proportions bar, add and remove. */
export class PaletteEditor {
  #panel;
  #list;
  #bar;
  #add;
  #total;
  #hueName;
  #onChange;
  #colors = [];

  /**
   * @param {HTMLElement} panel the [data-testid="palette-panel"] element
   * @param {object} options hueName(hue) for spoken values; onChange(colors) after every edit
   */
  constructor(panel, { hueName, onChange }) {
    this.#panel = panel;
    this.#list = panel.querySelector('[data-role="palette-colors"]');
    this.#bar = panel.querySelector('[data-role="palette-bar"]');
    this.#add = panel.querySelector('[data-testid="palette-add"]');
    this.#total = panel.querySelector('[data-role="palette-total"]');
    this.#hueName = hueName;
    this.#onChange = onChange;
    this.#add.addEventListener('click', () => this.#addColor());
  }

  get colors() {
    return this.#colors.map(({ hue, weight }) => ({ hue, weight }));
  }

  /** Show these colours, without telling onChange. */
  set(colors) {
    this.#colors = colors.map(({ hue, weight }) => ({ hue, weight }));
    this.#render();
  }

  /** Focus the first colour's hue slider, for a keyboard user who just opened the panel. */
  focus() {
    this.#list.querySelector('input')?.focus();
  }

  #addColor() {
    const last = this.#colors.at(-1);
    const room = MAX_TOTAL - this.#weightTotal();
    if (this.#colors.length >= MAX_COLORS || room < 1) return;
    // The complementary side of the last colour: a second colour is most often a contrast.
    this.#colors.push({ hue: last ? (last.hue + 150) % 360 : 200, weight: Math.min(NEW_COLOR_WEIGHT, room) });
    this.#render();
    this.#list.lastElementChild?.querySelector('input')?.focus();
    this.#onChange(this.colors);
  }

  #remove(index) {
    if (this.#colors.length <= 1) return;
    this.#colors.splice(index, 1);
    this.#render();
    this.#list.children[Math.min(index, this.#colors.length - 1)]?.querySelector('input')?.focus();
    this.#onChange(this.colors);
  }

  #weightTotal(except = -1) {
    return this.#colors.reduce((sum, color, index) => (index === except ? sum : sum + color.weight), 0);
  }

  #render() {
    this.#list.replaceChildren(...this.#colors.map((color, index) => this.#row(color, index)));
    this.#refresh();
  }

  // What changes while a slider is dragged, without rebuilding the rows (which would drop the drag).
  #refresh() {
    const total = this.#weightTotal();
    this.#bar.replaceChildren(
      ...this.#colors.map(({ hue, weight }) => {
        const part = document.createElement('span');
        part.style.background = swatch(hue);
        part.style.flexGrow = String(weight);
        return part;
      }),
    );
    const rest = document.createElement('span');
    rest.className = 'palette-bar-rest';
    rest.style.flexGrow = String(MAX_TOTAL - total);
    this.#bar.append(rest);
    this.#total.textContent = `${total}% of the picture asked for`;
    this.#add.disabled = this.#colors.length >= MAX_COLORS || total >= MAX_TOTAL;
    for (const [index, row] of [...this.#list.children].entries()) {
      const { hue, weight } = this.#colors[index];
      row.querySelector('.palette-swatch').style.background = swatch(hue);
      row.querySelector('[data-role="hue-value"]').textContent = `${hue}°`;
      row.querySelector('[data-role="weight-value"]').textContent = `${weight}%`;
      const hueInput = row.querySelector('[data-testid="palette-hue"]');
      hueInput.setAttribute('aria-valuetext', `${hue}°, ${this.#hueName(hue)}`);
      const weightInput = row.querySelector('[data-testid="palette-weight"]');
      weightInput.setAttribute('aria-valuetext', `${weight}% of the picture`);
      row.querySelector('[data-testid="palette-remove"]').hidden = this.#colors.length <= 1;
    }
  }

  #row(color, index) {
    const row = document.createElement('li');
    row.className = 'palette-color';
    row.dataset.testid = 'palette-color';
    const number = index + 1;
    row.innerHTML = `
      <span class="palette-swatch" aria-hidden="true"></span>
      <label class="palette-field">
        <span class="palette-field-name">Colour ${number}</span>
        <input type="range" class="hue-slider palette-hue" min="0" max="359" step="1" data-testid="palette-hue"
               aria-label="Hue of colour ${number}">
        <span class="palette-value" data-role="hue-value" aria-hidden="true"></span>
      </label>
      <label class="palette-field palette-field--weight">
        <span class="palette-field-name">Share</span>
        <input type="range" class="palette-weight" min="1" max="100" step="1" data-testid="palette-weight"
               aria-label="Share of colour ${number}">
        <span class="palette-value" data-role="weight-value" aria-hidden="true"></span>
      </label>
      <button type="button" class="palette-remove" data-testid="palette-remove"
              aria-label="Remove colour ${number}" title="Remove this colour">✕</button>`;
    const hueInput = row.querySelector('[data-testid="palette-hue"]');
    hueInput.value = String(color.hue);
    hueInput.style.setProperty('--thumb-color', swatch(color.hue));
    hueInput.addEventListener('input', () => {
      color.hue = hueInput.valueAsNumber;
      hueInput.style.setProperty('--thumb-color', swatch(color.hue));
      this.#refresh();
      this.#onChange(this.colors);
    });
    const weightInput = row.querySelector('[data-testid="palette-weight"]');
    weightInput.value = String(color.weight);
    weightInput.addEventListener('input', () => {
      // The weights together cover at most the whole picture: this one stops where the others leave off.
      const room = MAX_TOTAL - this.#weightTotal(index);
      color.weight = Math.min(weightInput.valueAsNumber, room);
      if (weightInput.valueAsNumber !== color.weight) weightInput.value = String(color.weight);
      this.#refresh();
      this.#onChange(this.colors);
    });
    row.querySelector('[data-testid="palette-remove"]').addEventListener('click', () => this.#remove(index));
    return row;
  }
}

function swatch(hue) {
  return `hsl(${hue} 80% 55%)`;
}
