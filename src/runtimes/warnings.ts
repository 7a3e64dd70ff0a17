/** Typed warnings for settings a runtime does not honour (stored with the deployment or run). */
import type { SettingWarning } from "../spec/runtime.js";

export function unsupported(field: string, message: string): SettingWarning {
  return { kind: "unsupported-setting", field, message };
}

/** For a runtime without quantizations: no warning when none was asked for, else one saying why. */
export function quantNotApplied(quant: string | undefined, why: string): SettingWarning[] {
  return quant === undefined ? [] : [unsupported("quant", `quant "${quant}" not applied: ${why}`)];
}
