// SailPoint approvals in Moveworks: Flex Consumption function app, user-assigned identity, identity-only
// storage, Key Vault for the secrets, Log Analytics + Application Insights without local auth, diagnostic
// settings to the workspace, no basic publishing credentials, and optional caller IP restrictions.
targetScope = 'resourceGroup'

@description('Base name of every resource, 3-16 characters. Lowercased letters a-z and digits are kept in the resource names and every other character dropped (storage accounts take nothing else), so any value deploys; a uniqueString suffix keeps the names apart.')
@minLength(3)
@maxLength(16)
param name string

param location string = resourceGroup().location
param tags object = {
  app: 'sailpoint-moveworks-approvals'
}

@description('Optional object id of a user or group allowed to set and rotate the Key Vault secrets.')
param secretsOfficerPrincipalId string = ''

@description('IdentityIQ base URL (everything before /identityiq); empty turns the source off.')
param iiqBaseUrl string = ''
param iiqClientId string = ''
@secure()
param iiqClientSecret string = ''
param iiqIdPattern string = '^[0-9a-fA-F]{32}$'
param iiqPageSize int = 250

@description('Identity Security Cloud base URL, https://{tenant}.api.identitynow.com; empty turns the source off.')
param iscBaseUrl string = ''
@description('Client id of the personal access token of an ISC service identity with the ORG_ADMIN user level.')
param iscClientId string = ''
@secure()
param iscClientSecret string = ''
@description('ISC API layout: v1 (per service, the default), or a year-based v2026, v2025, v2024, or v3 (access-request approvals only). See docs/isc-api-versions.md.')
@allowed([
  'v1'
  'v2026'
  'v2025'
  'v2024'
  'v3'
])
param iscApiVersion string = 'v1'
param iscIdPattern string = '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'
param iscMaxPer10Seconds int = 90
@description('Which ISC approvals come into chat: access-requests, generic, or both (comma list).')
param iscApprovalKinds string = 'access-requests,generic'
@description('on: access-request messages show SailPoint Identity AI\'s recommendation (the PAT needs iai:decisions:manage). off: never asked.')
@allowed([
  'on'
  'off'
])
param iscRecommendations string = 'on'
@description('service: ISC writes go through the service PAT. user: approvers connect their own SailPoint account and decide with their own token (docs/isc-decide-as-user.md); the next five parameters are then required.')
@allowed([
  'service'
  'user'
])
param iscDecideAs string = 'service'
@description('The ISC OAuth client approvers connect with (grant types AUTHORIZATION_CODE and REFRESH_TOKEN).')
param iscUserClientId string = ''
@description('Its secret, stored in Key Vault. Pass it on the first deployment in user mode and whenever it is rotated; later deployments keep the stored one.')
@secure()
param iscUserClientSecret string = ''
@description('The tenant\'s authorizeEndpoint, https://{tenant}.login.sailpoint.com/oauth/authorize.')
param iscAuthorizeUrl string = ''
@description('The app\'s external https URL (scheme and host), e.g. the function app\'s default host name as the portal shows it, or a custom domain; the OAuth redirect URI is this + /api/connections/isc/callback.')
param publicBaseUrl string = ''
@description('keyId:base64 256-bit keys, comma separated, the first sealing (openssl rand -base64 32), stored in Key Vault. Pass them in user mode on the first deployment and whenever they rotate; later deployments keep the stored value.')
@secure()
param userTokenKeys string = ''
@minValue(1)
@maxValue(3650)
param connectionRetentionDays int = 90

@description('events: through a published Classic event (Events API). listener: to an Agent Studio webhook listener (docs/moveworks/); new tenants can no longer create events.')
@allowed([
  'events'
  'listener'
])
param moveworksDelivery string = 'events'
@description('Your organisation\'s Moveworks API host (Moveworks lists the regional hosts); events only.')
param moveworksBaseUrl string = 'https://api.moveworks.ai'
@description('Id of the published Moveworks event; required with events.')
param moveworksEventId string = ''
@description('Moveworks API key, without "Bearer " (events). Required on the first deployment and when it is rotated; empty keeps the stored one.')
@secure()
param moveworksApiKey string = ''
param moveworksMaxPerMinute int = 120
param moveworksConcurrency int = 16
@description('The listener\'s webhook URL (https); required with listener.')
param moveworksListenerUrl string = ''
@description('The Moveworks API key the listener verifies, without "Bearer " (listener). Required on the first deployment and when it is rotated; empty keeps the stored one.')
@secure()
param moveworksListenerKey string = ''
@description('Sign each listener POST with HMAC-SHA256 of its body (the listener\'s signature verification), with the secret kept in Key Vault: true keeps signing on a redeploy that does not pass the secret again. Passing moveworksListenerSigningSecret turns it on too.')
param moveworksListenerSigned bool = false
@description('The listener\'s signing secret, with moveworksListenerSigned. Empty keeps the stored one.')
@secure()
param moveworksListenerSigningSecret string = ''
param moveworksListenerSignatureHeader string = 'X-Signature'
@minValue(1)
@maxValue(1000)
param moveworksListenerMaxPerSecond int = 5
@description('status: refusals answer their status codes. body: refusals that are the approver\'s business answer 200 {outcome, message}, which Agent Studio compound actions can show.')
@allowed([
  'status'
  'body'
])
param actionRefusalsAs string = 'status'

@description('Six-field NCRONTAB, UTC.')
param pollSchedule string = '0 */1 * * * *'
param fullSweepMinutes int = 15
param watermarkOverlapSeconds int = 300
@description('Seconds a poll may spend sending; the rest waits for the next poll. Safely under host.json functionTimeout (2 minutes).')
@minValue(5)
@maxValue(90)
param pollBudgetSeconds int = 50
param httpTimeoutMs int = 15000
param httpMaxRetries int = 3
param maxResponseBytes int = 10485760
param requireRejectReason bool = false
param maxCommentLength int = 1000
param allowSelfApproval bool = false
param remindAfterHours int = 24
param remindMax int = 2
param notifyRequester bool = false
param retentionDays int = 90
@description('Six-field NCRONTAB, UTC: when old records are removed.')
param cleanupSchedule string = '0 30 3 * * *'

@description('Issuer of signed caller tokens, compared exactly with iss; empty leaves caller-token verification off (function key only). Entra ID: https://login.microsoftonline.com/{tenant id}/v2.0; Moveworks JWKS Auth: the issuer the connector signs with.')
param callerJwtIssuer string = ''
@description('Audience the caller tokens must carry in aud; required when callerJwtIssuer is set (Entra ID: the API app registration\'s application id URI or client id).')
param callerJwtAudience string = ''
@description('Optional URL of the issuer\'s key set (JWKS); empty reads jwks_uri from {issuer}/.well-known/openid-configuration. Moveworks JWKS Auth: https://{org}.moveworks.com/.well-known/jwks.json.')
param callerJwksUrl string = ''
@description('Optional comma list of client ids allowed to call, matched against azp or appid; empty accepts any client the issuer signs for the audience.')
param callerAllowedClientIds string = ''
@description('Optional app role the caller token must carry in roles; empty requires none.')
param callerRequiredRole string = ''
@description('Optional claim holding the email of the person acting (for Moveworks JWKS Auth, a claim filled from the clicking user\'s email); when set, that claim is the approver and a different approverEmail in the body is refused.')
param callerUserEmailClaim string = ''
@description('Optional app role in roles that lets a caller token read the audit trail at GET /api/audit/delegated; empty: only the keys can.')
param callerAdminRole string = ''
@description('Turns on the audit reader key (x-audit-key on GET /api/audit/delegated), stored in Key Vault. Pass auditReaderKey with it on the first deployment and whenever it is rotated; later deployments keep the stored key.')
param enableAuditReaderKey bool = false
@description('The audit reader key, at least 32 characters (e.g. openssl rand -base64 48); empty keeps the stored one.')
@secure()
param auditReaderKey string = ''

@description('Optional CIDR ranges (e.g. 203.0.113.0/24; a bare address is taken as that one address, /32 for IPv4 and /128 for IPv6) allowed to reach the function app and its scm (deployment) site; when any is given, every other address is denied on both. Include the Moveworks egress IP ranges for your Moveworks region, or Moveworks cannot call the app, and the addresses you deploy from. Empty: no IP restriction.')
param allowedCallerIpRanges string[] = []

@description('Key Vault public network access. Disabled needs a private endpoint for the vault and the function app\'s VNet integration, which this template does not create: without them the app cannot resolve its Key Vault references.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('Email address the alerts go to; empty sends no email (the alerts still show in the portal).')
param alertEmail string = ''
@description('Webhook the alerts are posted to (Teams, Slack, a pager), in the common alert schema; empty posts nowhere.')
@secure()
param alertWebhookUrl string = ''
@description('The last polls of a source that must all have failed to alert (they must fit in an hour).')
@minValue(1)
@maxValue(20)
param alertPollFailuresInARow int = 3
@description('Minutes without a successful poll before the heartbeat alert fires: more than the time between polls, and a window size Azure Monitor accepts.')
@allowed([
  5
  10
  15
  30
  45
  60
  120
  180
  240
  300
  360
  1440
])
param alertHeartbeatMinutes int = 10
@description('Messages owed for the next poll, at least, that must keep growing across 3 polls to alert.')
@minValue(1)
param alertOwedThreshold int = 1
@description('Action route 5xx answers within 5 minutes that alert.')
@minValue(1)
param alertServerErrorThreshold int = 5
@description('Messages or reminders Moveworks refused or failed within 15 minutes that alert.')
@minValue(1)
param alertRefusedThreshold int = 1

// 1000 is the most Flex Consumption supports; 40 is the least Microsoft's Flex samples allow (the floor of the
// preview, flex-consumption-plan.md "Considerations"; the current page allows lower maximums, which no sample uses).
@description('Most instances the app scales out to: 40-1000, as Microsoft\'s Flex Consumption samples allow.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40
@description('Memory of each instance, in MB (the sizes Flex Consumption offers). The Node worker\'s heap limit is a quarter of it (languageWorkers__node__arguments); a full sweep of 10,000 open approvals was measured within the 128 MB heap of a 512 MB instance (docs/deploy.md, "Worker memory").')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

var suffix = uniqueString(resourceGroup().id, name)
// The resource names, derived so that any `name` within its length deploys: lowercased, every character
// but a-z and 0-9 dropped (a storage account takes nothing else; a Key Vault, a function app and a workspace
// no underscore, dot, space or double hyphen), then cut to length. The suffix, from the resource group and
// the `name` as given, keeps them apart; a `name` of letters and digits only keeps the names the template
// always gave it, so a redeploy finds its storage account and vault.
var lowerName = toLower(name)
var nameCharacters = map(range(0, length(lowerName)), i => substring(lowerName, i, 1))
var keptCharacters = join(filter(nameCharacters, c => contains('abcdefghijklmnopqrstuvwxyz0123456789', c)), '')
var baseName = empty(keptCharacters) ? 'approvals' : keptCharacters
// 3-24 lowercase letters and digits.
var storageAccountName = take('st${baseName}${suffix}', 24)
// 3-24 letters, digits and single hyphens, starting with a letter: the cut falls in the suffix (baseName is
// at most 16 characters), so the name ends with a letter or digit.
var keyVaultName = take('kv-${baseName}-${suffix}', 24)
var stateTableName = 'approvals'
var deploymentContainerName = 'deployment'
var secretNames = {
  iiq: 'iiq-client-secret'
  isc: 'isc-client-secret'
  moveworks: 'moveworks-api-key'
  listenerKey: 'moveworks-listener-key'
  listenerSigningSecret: 'moveworks-listener-signing-secret'
  auditReader: 'audit-reader-key'
  iscUser: 'isc-user-client-secret'
  userTokenKeys: 'user-token-keys'
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${baseName}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: baseName
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    name: baseName
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.id
    alertEmail: alertEmail
    alertWebhookUrl: alertWebhookUrl
    pollFailuresInARow: alertPollFailuresInARow
    heartbeatMinutes: alertHeartbeatMinutes
    owedThreshold: alertOwedThreshold
    serverErrorThreshold: alertServerErrorThreshold
    refusedThreshold: alertRefusedThreshold
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    // As given: it goes into the workbook's GUID name, which any text makes, and its display name.
    name: name
    location: location
    tags: tags
    appInsightsId: monitoring.outputs.id
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    deploymentContainerName: deploymentContainerName
    stateTableName: stateTableName
    workspaceId: monitoring.outputs.workspaceId
  }
}

module vault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    readerPrincipalId: identity.outputs.principalId
    secretsOfficerPrincipalId: secretsOfficerPrincipalId
    publicNetworkAccess: keyVaultPublicNetworkAccess
    workspaceId: monitoring.outputs.workspaceId
    secrets: {
      '${secretNames.iiq}': iiqClientSecret
      '${secretNames.isc}': iscClientSecret
      '${secretNames.moveworks}': moveworksApiKey
      '${secretNames.listenerKey}': moveworksListenerKey
      '${secretNames.listenerSigningSecret}': moveworksListenerSigningSecret
      '${secretNames.auditReader}': auditReaderKey
      '${secretNames.iscUser}': iscUserClientSecret
      '${secretNames.userTokenKeys}': userTokenKeys
    }
  }
}

var listenerMode = moveworksDelivery == 'listener'

// A reference follows the secret's latest version; empty when the secret was not given.
// Referenced while the source is on, whether or not this deployment passes the secret: a redeploy without
// it keeps the one stored in the vault (the vault module writes only the secrets given).
var secretReference = {
  iiq: empty(iiqBaseUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.iiq}/)'
  isc: empty(iscBaseUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.isc}/)'
  moveworks: listenerMode ? '' : '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.moveworks}/)'
  listenerKey: listenerMode ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.listenerKey}/)' : ''
  listenerSigningSecret: listenerMode && (moveworksListenerSigned || !empty(moveworksListenerSigningSecret)) ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.listenerSigningSecret}/)' : ''
  auditReader: enableAuditReaderKey ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.auditReader}/)' : ''
  iscUser: iscDecideAs == 'user' ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.iscUser}/)' : ''
  userTokenKeys: iscDecideAs == 'user' ? '@Microsoft.KeyVault(SecretUri=${vault.outputs.uri}secrets/${secretNames.userTokenKeys}/)' : ''
}
var userMode = iscDecideAs == 'user'

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    name: 'func-${baseName}-${suffix}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    blobEndpoint: storage.outputs.blobEndpoint
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appInsightsConnectionString: monitoring.outputs.connectionString
    workspaceId: monitoring.outputs.workspaceId
    allowedIpRanges: allowedCallerIpRanges
    // Every setting the app's config schema reads (shared/config.ts), but the local-only ones.
    appSettings: {
      STATE_TABLE_ENDPOINT: storage.outputs.tableEndpoint
      STATE_TABLE_NAME: stateTableName
      IIQ_BASE_URL: iiqBaseUrl
      IIQ_CLIENT_ID: iiqClientId
      IIQ_CLIENT_SECRET: secretReference.iiq
      IIQ_ID_PATTERN: iiqIdPattern
      IIQ_PAGE_SIZE: string(iiqPageSize)
      ISC_BASE_URL: iscBaseUrl
      ISC_CLIENT_ID: iscClientId
      ISC_CLIENT_SECRET: secretReference.isc
      ISC_API_VERSION: iscApiVersion
      ISC_ID_PATTERN: iscIdPattern
      ISC_MAX_PER_10_SECONDS: string(iscMaxPer10Seconds)
      ISC_APPROVAL_KINDS: iscApprovalKinds
      ISC_RECOMMENDATIONS: iscRecommendations
      ISC_DECIDE_AS: iscDecideAs
      ISC_USER_CLIENT_ID: userMode ? iscUserClientId : ''
      ISC_USER_CLIENT_SECRET: secretReference.iscUser
      ISC_AUTHORIZE_URL: userMode ? iscAuthorizeUrl : ''
      PUBLIC_BASE_URL: userMode ? publicBaseUrl : ''
      USER_TOKEN_KEYS: secretReference.userTokenKeys
      CONNECTION_RETENTION_DAYS: string(connectionRetentionDays)
      MOVEWORKS_DELIVERY: moveworksDelivery
      MOVEWORKS_BASE_URL: moveworksBaseUrl
      MOVEWORKS_EVENT_ID: listenerMode ? '' : moveworksEventId
      MOVEWORKS_API_KEY: secretReference.moveworks
      MOVEWORKS_MAX_PER_MINUTE: string(moveworksMaxPerMinute)
      MOVEWORKS_CONCURRENCY: string(moveworksConcurrency)
      MOVEWORKS_LISTENER_URL: listenerMode ? moveworksListenerUrl : ''
      MOVEWORKS_LISTENER_KEY: secretReference.listenerKey
      MOVEWORKS_LISTENER_SIGNING_SECRET: secretReference.listenerSigningSecret
      MOVEWORKS_LISTENER_SIGNATURE_HEADER: moveworksListenerSignatureHeader
      MOVEWORKS_LISTENER_MAX_PER_SECOND: string(moveworksListenerMaxPerSecond)
      ACTION_REFUSALS_AS: actionRefusalsAs
      POLL_SCHEDULE: pollSchedule
      FULL_SWEEP_MINUTES: string(fullSweepMinutes)
      WATERMARK_OVERLAP_SECONDS: string(watermarkOverlapSeconds)
      POLL_BUDGET_SECONDS: string(pollBudgetSeconds)
      HTTP_TIMEOUT_MS: string(httpTimeoutMs)
      HTTP_MAX_RETRIES: string(httpMaxRetries)
      MAX_RESPONSE_BYTES: string(maxResponseBytes)
      REQUIRE_REJECT_REASON: string(requireRejectReason)
      MAX_COMMENT_LENGTH: string(maxCommentLength)
      ALLOW_SELF_APPROVAL: string(allowSelfApproval)
      REMIND_AFTER_HOURS: string(remindAfterHours)
      REMIND_MAX: string(remindMax)
      NOTIFY_REQUESTER: string(notifyRequester)
      RETENTION_DAYS: string(retentionDays)
      CLEANUP_SCHEDULE: cleanupSchedule
      AUDIT_TABLE_NAME: 'audit'
      CALLER_JWT_ISSUER: callerJwtIssuer
      CALLER_JWT_AUDIENCE: callerJwtAudience
      CALLER_JWKS_URL: callerJwksUrl
      CALLER_ALLOWED_CLIENT_IDS: callerAllowedClientIds
      CALLER_REQUIRED_ROLE: callerRequiredRole
      CALLER_USER_EMAIL_CLAIM: callerUserEmailClaim
      CALLER_ADMIN_ROLE: callerAdminRole
      AUDIT_READER_KEY: secretReference.auditReader
    }
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}'
output keyVaultName string = vault.outputs.name
output storageAccountName string = storage.outputs.name
output applicationInsightsName string = monitoring.outputs.name
output alertNames array = alerts.outputs.alertNames
output workbookId string = workbook.outputs.id
