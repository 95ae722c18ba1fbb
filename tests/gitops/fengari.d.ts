// Types for the parts of fengari (a Lua 5.3 VM in JavaScript, shipped without types) that the Argo CD health tests use.
declare module 'fengari' {
  export type LuaState = { readonly __brand: 'lua_State' };
  export type LuaString = Uint8Array;
  type OpenFunction = (L: LuaState) => number;

  export function to_luastring(text: string): LuaString;
  export function to_jsstring(text: LuaString): string;

  export const lua: {
    readonly LUA_OK: number;
    readonly LUA_TSTRING: number;
    readonly LUA_TTABLE: number;
    lua_pushnil(L: LuaState): void;
    lua_pushboolean(L: LuaState, value: boolean): void;
    lua_pushinteger(L: LuaState, value: number): void;
    lua_pushnumber(L: LuaState, value: number): void;
    lua_pushstring(L: LuaState, value: LuaString): void;
    lua_createtable(L: LuaState, arrayItems: number, fields: number): void;
    lua_rawseti(L: LuaState, index: number, key: number): void;
    lua_setfield(L: LuaState, index: number, key: LuaString): void;
    lua_setglobal(L: LuaState, name: LuaString): void;
    lua_getfield(L: LuaState, index: number, key: LuaString): number;
    lua_pcall(L: LuaState, argumentCount: number, resultCount: number, handler: number): number;
    lua_type(L: LuaState, index: number): number;
    lua_tojsstring(L: LuaState, index: number): string;
    lua_pop(L: LuaState, count: number): void;
    lua_settop(L: LuaState, index: number): void;
  };

  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_loadstring(L: LuaState, source: LuaString): number;
    luaL_requiref(L: LuaState, name: LuaString, open: OpenFunction, global: number): void;
  };

  export const lualib: {
    readonly luaopen_base: OpenFunction;
    readonly luaopen_table: OpenFunction;
  };
}
