// The studio's words and figures in the page's language. gettext, ngettext and interpolate are Django's
// JavaScript catalog (/jsi18n/<language>.js), which the page loads before its modules.
const { gettext, interpolate } = globalThis;
const lang = document.documentElement.lang || undefined;
const tenths = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat(lang);

// "%(name)s" in a translated sentence, filled in.
export function fill(sentence, values) {
  return interpolate(sentence, values, true);
}

// A count as the page's language writes it (1,234 or 1.234).
export function count(value) {
  return whole.format(value);
}

// Seconds to a tenth, with their unit: "2.5 s", "2,5 s".
export function seconds(value) {
  return fill(gettext("%(seconds)s s"), { seconds: tenths.format(value) });
}
