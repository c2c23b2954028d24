// The admin API client. Every call names an OpenAPI path literally ("/admin/codes/{code_id}"):
// tests/integration/test_console_contract.py checks each (method, path) against /admin/openapi.json.
import { session, token, tokenRefused } from "./auth.js";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function fill(path, params = {}) {
  return path.replace(/\{(\w+)\}/g, (_, name) => {
    if (params[name] === undefined || params[name] === null) throw new Error(`missing ${name} for ${path}`);
    return encodeURIComponent(params[name]);
  });
}

async function request(method, path, { params, query, body, blob } = {}) {
  let url = fill(path, params);
  if (query) {
    const pairs = Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "");
    if (pairs.length) url += "?" + new URLSearchParams(pairs).toString();
  }
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (answer.status === 401) {
    await tokenRefused();
    throw new ApiError(401, "signed out: sign in again");
  }
  if (!answer.ok) {
    let message = `${answer.status} ${answer.statusText}`;
    let data = null;
    try {
      data = await answer.json();
      message = data.message || message;
    } catch {
      // not JSON: keep the status line
    }
    if (answer.status === 403) session.forbidden = true;
    throw new ApiError(answer.status, message, data);
  }
  if (blob) return answer.blob();
  if (answer.status === 204) return null;
  return answer.json();
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, options) => request("POST", path, options),
  put: (path, options) => request("PUT", path, options),
  patch: (path, options) => request("PATCH", path, options),
  del: (path, options) => request("DELETE", path, options),
};

// Save a blob as a download (QR codes, CSV): the browser keeps the file name.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function fileToDataUri(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
