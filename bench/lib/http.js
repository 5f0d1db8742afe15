// The reference server's REST API, for the benches' set-up (sign-ups, servers, joins).

/** One call to the reference server's REST API; throws on a non-2xx answer. */
export async function http(url, method, path, { token, json, form } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body;
  if (json) (headers['content-type'] = 'application/json'), (body = JSON.stringify(json));
  if (form) body = new URLSearchParams(form);
  const r = await fetch(url + path, { method, headers, body });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}
