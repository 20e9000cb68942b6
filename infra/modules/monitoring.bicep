@description('Base name for the Log Analytics workspace and Application Insights.')
param name string
param location string
param tags object
@description('Principal id of the identity that publishes telemetry.')
param publisherPrincipalId string

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
    // No shared-key (workspace key) ingestion or queries: Entra ID only. Application Insights ingests with
    // Entra ID too (DisableLocalAuth below, the publisher role, APPLICATIONINSIGHTS_AUTHENTICATION_STRING), and
    // diagnostic settings do not use the workspace keys.
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, publisherPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output workspaceId string = workspace.id
output connectionString string = appInsights.properties.ConnectionString
output name string = appInsights.name
output id string = appInsights.id
