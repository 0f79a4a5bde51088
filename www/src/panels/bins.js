// Placeholder until the page-panels branch lands its panel (it overwrites this file).
export function mount() {}
