-- Argo CD health check for gitseal.dev/EncryptedSecret.
--
-- Healthy once the gitseal controller has decrypted the current generation into its
-- Secret (condition Ready=True with observedGeneration equal to metadata.generation);
-- Degraded when it refused it (Ready=False: NoMatchingKey, MacMismatch, ScopeViolation,
-- InvalidData, VaultError, SecretExists), with the controller's reason and message;
-- Progressing until the controller has seen the current generation.
local hs = {}
local generation = obj.metadata and obj.metadata.generation
local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the gitseal controller to decrypt it"
  return hs
end
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the gitseal controller to decrypt generation " .. tostring(generation)
  return hs
end
for _, condition in ipairs(status.conditions) do
  if condition.type == "Ready" then
    if condition.observedGeneration ~= nil and generation ~= nil and condition.observedGeneration < generation then
      hs.status = "Progressing"
      hs.message = "Waiting for the gitseal controller to decrypt generation " .. tostring(generation)
    elseif condition.status == "True" then
      hs.status = "Healthy"
      hs.message = condition.message or "Decrypted"
    elseif condition.status == "False" then
      hs.status = "Degraded"
      hs.message = (condition.reason or "NotReady") .. ": " .. (condition.message or "")
    else
      hs.status = "Progressing"
      hs.message = condition.message or "Waiting for the gitseal controller"
    end
    return hs
  end
end
hs.status = "Progressing"
hs.message = "Waiting for the gitseal controller to decrypt it"
return hs
