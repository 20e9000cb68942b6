@description('Base name for the action group and the alert rules.')
param name string
param location string
param tags object
@description('Resource id of the Application Insights component the app logs to: the rules query its traces and requests.')
param appInsightsId string
@description('Email address the alerts go to; empty sends no email.')
param alertEmail string = ''
@description('Webhook (e.g. a Teams, Slack or paging service URL) the alerts are posted to; empty posts nowhere.')
@secure()
param alertWebhookUrl string = ''
@description('The last polls of a source that must all have failed to alert. They must fit in the hour the rule looks back over: with the default schedule a poll runs every minute.')
@minValue(1)
@maxValue(20)
param pollFailuresInARow int = 3
@description('Minutes without one successful poll of any source before the heartbeat alert fires: more than the time between polls, and one of the window sizes Azure Monitor accepts.')
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
param heartbeatMinutes int = 10
@description('Messages owed for the next poll, at least, that must keep growing across 3 polls to alert.')
@minValue(1)
param owedThreshold int = 1
@description('Action route answers with a 5xx status within 5 minutes that alert.')
@minValue(1)
param serverErrorThreshold int = 5
@description('Messages or reminders Moveworks refused or failed within 15 minutes that alert.')
@minValue(1)
param refusedThreshold int = 1

// Every query reads the app's JSON log lines (shared/platform/log.ts); test/telemetry.test.ts checks that each event
// and field named here is one the code logs, so renaming a log event breaks the build, not the alerting.
var events = '''
traces
| where message startswith "{"
| extend e = parse_json(message)
| extend event = tostring(e.event)
'''

// The heartbeat window in the form Azure Monitor lists window sizes: PT1H, PT2H... and P1D rather than
// PT60M, PT120M and PT1440M.
var heartbeatWindow = heartbeatMinutes % 1440 == 0 ? 'P${heartbeatMinutes / 1440}D' : (heartbeatMinutes % 60 == 0 ? 'PT${heartbeatMinutes / 60}H' : 'PT${heartbeatMinutes}M')

var rules = [
  {
    key: 'poll-failing'
    displayName: 'Polling keeps failing'
    description: 'The last ${pollFailuresInARow} polls of a source all failed: nothing new reaches approvers from it. See docs/operations.md "Polling keeps failing".'
    severity: 1
    frequency: 'PT5M'
    window: 'PT1H'
    // The newest N polls of each source, numbered per source, newest first.
    query: '${events}| where event in ("sync.done", "sync.failed")\n| extend source = tostring(e.source), failed = event == "sync.failed" or tobool(e.listingFailed)\n| order by source asc, timestamp desc\n| extend rank = row_number(1, source != prev(source))\n| where rank <= ${pollFailuresInARow}\n| summarize polls = count(), failures = countif(failed) by source\n| where polls == ${pollFailuresInARow} and failures == polls'
  }
  {
    key: 'no-successful-poll'
    displayName: 'No successful poll'
    description: 'No source finished a successful poll in ${heartbeatMinutes} minutes: the timer is not running, or every poll fails. See docs/operations.md "No successful poll".'
    severity: 1
    frequency: 'PT5M'
    window: heartbeatWindow
    query: '${events}| where event == "sync.done" and not(tobool(e.listingFailed))\n| summarize successes = count()\n| where successes == 0'
  }
  {
    key: 'owed-growing'
    displayName: 'Messages owed keep growing or are not sent'
    description: 'Across the last 3 polls of a source, the messages owed for the next poll grew each time, or stayed owed with nothing sent: Moveworks is down, slow or limiting, or sends keep failing. See docs/operations.md "Messages owed keep growing or are not sent".'
    severity: 2
    frequency: 'PT5M'
    window: 'PT1H'
    query: '${events}| where event == "sync.done"\n| project timestamp, source = tostring(e.source), owed = toint(e.owedForNextPoll), sent = toint(e.messagesSent)\n| order by source asc, timestamp desc\n| extend rank = row_number(1, source != prev(source))\n| where rank <= 3\n| order by source asc, timestamp asc\n| extend grew = source == prev(source) and owed > prev(owed)\n| summarize polls = count(), growths = countif(grew), sends = sum(sent), least = min(owed) by source\n| where polls == 3 and least >= ${owedThreshold} and (growths == 2 or sends == 0)'
  }
  {
    key: 'action-errors'
    displayName: 'Action routes answer 5xx'
    description: 'Approve, reject, comment, reassign or list answered ${serverErrorThreshold} or more 5xx in 5 minutes: approvers see errors. See docs/operations.md "Action routes answer 5xx".'
    severity: 1
    frequency: 'PT5M'
    window: 'PT5M'
    query: 'requests\n| where name in ("approveApproval", "rejectApproval", "commentApproval", "reassignApproval", "listApprovals")\n| where toint(resultCode) >= 500\n| summarize failures = count()\n| where failures >= ${serverErrorThreshold}'
  }
  {
    key: 'table-unreachable'
    displayName: 'State table unreachable'
    description: 'The app could not reach its table, from an action (which answers 503 storage_unavailable) or from a poll (which stops before sending). See docs/operations.md "State table unreachable".'
    severity: 1
    frequency: 'PT5M'
    window: 'PT5M'
    query: '${events}| where event == "storage.failed"\n| summarize failures = count()\n| where failures > 0'
  }
  {
    key: 'moveworks-refused'
    displayName: 'Moveworks refused messages'
    description: 'Moveworks refused or failed ${refusedThreshold} or more notifications, reminders or decision messages in 15 minutes: usually a wrong event id or key, or unknown recipients. See docs/operations.md "Moveworks refused messages".'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    query: '${events}| where event in ("sync.message_refused", "sync.message_failed", "announce.not_sent")\n| summarize refusals = count()\n| where refusals >= ${refusedThreshold}'
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${name}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('approvals', 12)
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'email'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: empty(alertWebhookUrl) ? [] : [
      {
        name: 'webhook'
        serviceUri: alertWebhookUrl
        useCommonAlertSchema: true
      }
    ]
  }
}

resource alert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: 'alert-${name}-${rule.key}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: rule.frequency
    windowSize: rule.window
    // Each query answers a row only when something is wrong, so one row alerts.
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
output alertNames array = [for (rule, i) in rules: alert[i].name]
