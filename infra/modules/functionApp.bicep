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
param maximumInstanceCount int
param instanceMemoryMB int
@description('App settings of the application itself, by name (see the settings table in docs/configuration.md).')
param appSettings object
param appInsightsConnectionString string
@description('Log Analytics workspace receiving the function app logs and metrics.')
param workspaceId string
@description('CIDR ranges allowed to reach the app and its scm site; when any is given every other address is denied. Empty: no restriction.')
param allowedIpRanges string[] = []

// One Allow rule per range, used for the app and for its scm (deployment) site alike.
var ipRules = [for (cidr, i) in allowedIpRanges: {
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
      ftpsState: 'Disabled'
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

// No basic (user name and password) publishing: deployments authenticate with Entra ID.
resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
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
// NODE_OPTIONS sizes the worker's heap from the instance (a quarter of it): on
// V8's defaults the heap follows the memory Node sees, and a sweep's garbage piles up to several times what
// it holds live. The benchmark runs with the same options (dev/workerNodeOptions.ts).
var hostSettings = {
  NODE_OPTIONS: '--max-old-space-size=${instanceMemoryMB / 4}'
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
