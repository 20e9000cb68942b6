@description('Base name for the workbook.')
param name string
param location string
param tags object
@description('Resource id of the Application Insights component whose log events the charts read.')
param appInsightsId string

// The charts and their queries live in workbook.json, so that test/telemetry.test.ts can check them
// against the events the code logs.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name is a GUID; this one stays the same across redeployments of the same app.
  name: guid(resourceGroup().id, name, 'approvals-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'SailPoint approvals in Moveworks (${name})'
    category: 'workbook'
    sourceId: appInsightsId
    // Opened from Azure Monitor → Workbooks rather than from Application Insights, the charts still read this app.
    serializedData: string(union(loadJsonContent('workbook.json'), { fallbackResourceIds: [appInsightsId] }))
  }
}

output id string = workbook.id
