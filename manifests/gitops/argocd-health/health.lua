-- Argo CD health of a Deploy or a Sweep (operator.blackroad.io/v1alpha1), read from its kstatus conditions.
-- The same rules as the Flux healthCheckExprs and kstatus (ADR 008): a status older than the spec is
-- Progressing; Reconciling=True is Progressing (Suspended while a Deploy awaits approval); Stalled=True is
-- Degraded; Ready=True is Healthy; Ready=False with reason Suspended is Suspended; anything else is Progressing.
-- Written for Argo CD's Lua VM (gopher-lua, Lua 5.1), which opens only the base and table libraries for
-- argocd-cm scripts: no string library, so messages are built with .. and tostring().
local hs = {}
local status = obj.status
local generation = obj.metadata.generation

if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe this " .. obj.kind
  return hs
end
if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

-- Conditions written for an older generation say nothing about this one.
local conditions = {}
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.observedGeneration == nil or generation == nil or condition.observedGeneration == generation then
      conditions[condition.type] = condition
    end
  end
end

local function holds(conditionType)
  local condition = conditions[conditionType]
  return condition ~= nil and condition.status == "True"
end

local function describe(condition, fallback)
  local text = fallback
  if condition ~= nil and condition.message ~= nil and condition.message ~= "" then
    text = condition.message
  end
  -- A Sweep's progress and tally say more than any one message.
  if status.progress ~= nil and status.progress.total ~= nil and status.progress.completed ~= nil then
    text = text .. " (" .. tostring(status.progress.completed) .. "/" .. tostring(status.progress.total) .. " units)"
  end
  return text
end

if holds("Reconciling") then
  local reconciling = conditions["Reconciling"]
  if reconciling.reason == "AwaitingApproval" then
    hs.status = "Suspended"
  else
    hs.status = "Progressing"
  end
  hs.message = describe(reconciling, "Reconciling")
  return hs
end
if holds("Stalled") then
  hs.status = "Degraded"
  hs.message = describe(conditions["Stalled"], "Stalled")
  return hs
end
local ready = conditions["Ready"]
if holds("Ready") then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end
if ready ~= nil and ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready, "Suspended")
  return hs
end
hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the operator")
return hs
