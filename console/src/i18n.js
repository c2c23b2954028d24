// A small i18n of our own: every text is written in both languages where it is used, L("中文", "English").
// Chinese by default; English on request (kept in localStorage). Reactive: switching re-renders.
import { ref } from "vue";

const saved = typeof localStorage !== "undefined" ? localStorage.getItem("siyu.console.lang") : null;
export const lang = ref(saved === "en" ? "en" : "zh");

export function setLang(value) {
  lang.value = value;
  localStorage.setItem("siyu.console.lang", value);
  document.documentElement.lang = value === "en" ? "en" : "zh-CN";
}

export function L(zh, en) {
  return lang.value === "en" ? en : zh;
}
