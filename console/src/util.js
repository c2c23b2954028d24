import { ref, shallowRef } from "vue";
import { ElMessage, ElMessageBox } from "element-plus";
import "element-plus/es/components/message/style/css";
import "element-plus/es/components/message-box/style/css";
import { L } from "./i18n.js";

// load(fn): data, loading and error of one async read, with reload().
export function useLoad(fn, { immediate = true } = {}) {
  const data = shallowRef(null);
  const loading = ref(false);
  const error = ref("");
  async function reload() {
    loading.value = true;
    error.value = "";
    try {
      data.value = await fn();
    } catch (e) {
      error.value = e.message || String(e);
    } finally {
      loading.value = false;
    }
  }
  if (immediate) reload();
  return { data, loading, error, reload };
}

// Every destructive action asks first.
export async function confirm(message, title) {
  try {
    await ElMessageBox.confirm(message, title || L("请确认", "Please confirm"), {
      type: "warning",
      confirmButtonText: L("确定", "OK"),
      cancelButtonText: L("取消", "Cancel"),
    });
    return true;
  } catch {
    return false;
  }
}

export async function ask(message, title) {
  try {
    const { value } = await ElMessageBox.prompt(message, title || L("请输入", "Enter a value"), {
      confirmButtonText: L("确定", "OK"),
      cancelButtonText: L("取消", "Cancel"),
      inputValidator: (v) => (v && v.trim() ? true : L("不能为空", "Required")),
    });
    return value.trim();
  } catch {
    return null;
  }
}

export function ok(message) {
  ElMessage({ type: "success", message });
}

export function fail(error) {
  ElMessage({ type: "error", message: error?.message || String(error), duration: 6000 });
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { hour12: false });
}

export function day(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
}
