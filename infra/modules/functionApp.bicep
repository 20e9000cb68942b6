@description('Function app name (also the host id: keep it unique within its first 32 characters).')
param name string
param location string
param tags object
@description('Resource id and client id of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string
@description('Blob endpoint of the storage account, for the deployment container.')
param blobEndpoint string
@description('The storage account the host keeps its state in (timer leases, keys), reached with the identity.')
param storageAccountName string
param deploymentContainerName string
@description('Most instances: 40-1000, as Microsoft\'s Flex Consumption samples allow.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int
@description('Memory of each instance, in MB: 512, 2048 or 4096.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int
@description('App settings of the application itself, by name (see the settings table in docs/configuration.md).')
param appSettings object
param appInsightsConnectionString string
@description('Log Analytics workspace receiving the function app logs and metrics.')
param workspaceId string
@description('CIDR ranges allowed to reach the app and its scm site (a bare address is that one address); when any is given every other address is denied. Empty: no restriction.')
param allowedIpRanges string[] = []

// Each range in CIDR form, which ipSecurityRestrictions needs: a bare address gets the mask of that one
// address, /128 for IPv6 (it has a colon) and /32 for IPv4.
var allowedCidrs = map(allowedIpRanges, entry => contains(entry, '/') ? trim(entry) : (contains(entry, ':') ? '${trim(entry)}/128' : '${trim(entry)}/32'))

// One Allow rule per range, used for the app and for its scm (deployment) site alike.
var ipRules = [for (cidr, i) in allowedCidrs: {
  name: 'allow-${i + 1}'
  action: 'Allow'
  ipAddress: cidr
  priority: 100 + i
}]
var ipDefaultAction = empty(allowedIpRanges) ? 'Allow' : 'Deny'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      // No ftpsState: Flex Consumption lists it among the deprecated properties ("FTPS not supported",
      // functions-app-settings.md, "Flex Consumption plan deprecations").
      ipSecurityRestrictions: ipRules
      ipSecurityRestrictionsDefaultAction: ipDefaultAction
      scmIpSecurityRestrictions: ipRules
      scmIpSecurityRestrictionsDefaultAction: ipDefaultAction
      scmIpSecurityRestrictionsUseMain: false
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// No basic (user name and password) publishing on the scm site: deployments authenticate with Entra ID.
// There is no `ftp` policy: Flex Consumption has no FTP endpoint ("FTPS not supported", the deprecations
// list above), and its documentation does not say it accepts that policy, so none is written.
resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// The functions' logs and the app's metrics to the workspace.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// The host's own settings: identity-based storage as in Microsoft's Flex samples, and Application Insights
// without keys. The app reads __credential and __clientId too, to reach its tables with the same identity.
// languageWorkers__node__arguments, the setting the Functions Node.js guide documents for arguments to the
// worker's node process (functions-reference-node.md), sizes the worker's heap from the instance (a quarter
// of it): on V8's defaults the heap follows the memory Node sees, and a sweep's garbage piles up to several
// times what it holds live. The benchmark runs under the same arguments (dev/workerNodeOptions.ts).
var hostSettings = {
  languageWorkers__node__arguments: '--max-old-space-size=${instanceMemoryMB / 4}'
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(hostSettings, appSettings)
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
