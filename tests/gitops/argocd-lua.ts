// Runs an Argo CD resource health script in a Lua VM (fengari) the way Argo CD does: `obj` in, `{status, message}` out.
import { lauxlib, lua, lualib, to_luastring, type LuaState } from 'fengari';

export type ArgoHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';

export interface ArgoHealthStatus {
  readonly status: ArgoHealth;
  readonly message: string;
}

const STATUSES = new Set<string>(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown']);

/**
 * Pushes a JSON value as Argo CD's converter does: objects and arrays become tables. Argo CD's numbers are
 * gopher-lua floats whose tostring prints whole numbers without a fraction; Lua 5.3 integers print the same.
 */
function push(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) lua.lua_pushinteger(L, value);
    else lua.lua_pushnumber(L, value);
  }
  else if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, index) => {
      push(L, item);
      lua.lua_rawseti(L, -2, index + 1);
    });
  } else if (typeof value === 'object') {
    const entries = Object.entries(value);
    lua.lua_createtable(L, 0, entries.length);
    for (const [key, item] of entries) {
      push(L, item);
      lua.lua_setfield(L, -2, to_luastring(key));
    }
  } else throw new TypeError(`cannot give a ${typeof value} to Lua`);
}

function stringField(L: LuaState, key: string): string | undefined {
  const type = lua.lua_getfield(L, -1, to_luastring(key));
  const text = type === lua.LUA_TSTRING ? lua.lua_tojsstring(L, -1) : undefined;
  lua.lua_pop(L, 1);
  return text;
}

/**
 * Evaluates a health script for one object in a fresh VM with only the base and table libraries: the libraries
 * Argo CD opens for health scripts from argocd-cm (its safe `os` aside), so a script that needs `string` fails here
 * as it would there.
 *
 * Errors: throws when the script does not compile, raises an error, or returns anything but a table whose
 * `status` is one of Argo CD's health statuses.
 */
export function argoHealthOf(script: string, object: unknown): ArgoHealthStatus {
  const L = lauxlib.luaL_newstate();
  for (const [name, open] of [
    ['_G', lualib.luaopen_base],
    ['table', lualib.luaopen_table],
  ] as const) {
    lauxlib.luaL_requiref(L, to_luastring(name), open, 1);
    lua.lua_pop(L, 1);
  }
  push(L, object);
  lua.lua_setglobal(L, to_luastring('obj'));
  if (lauxlib.luaL_loadstring(L, to_luastring(script)) !== lua.LUA_OK) throw new Error(`the health script does not compile: ${lua.lua_tojsstring(L, -1)}`);
  if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) throw new Error(`the health script failed: ${lua.lua_tojsstring(L, -1)}`);
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) throw new Error('the health script did not return a table');
  const status = stringField(L, 'status');
  const message = stringField(L, 'message') ?? '';
  lua.lua_settop(L, 0);
  if (status === undefined || !STATUSES.has(status)) throw new Error(`the health script returned the status ${String(status)}`);
  return { status: status as ArgoHealth, message };
}
