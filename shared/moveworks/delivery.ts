import { Config } from '../config';
import { HttpClient } from '../platform/http';
import { Logger } from '../platform/log';
import { Pacer } from '../platform/pacer';
import { EventsClient } from './eventsClient';
import { ListenerClient } from './listenerClient';
import { Notifier } from './notifier';

/** The Moveworks notifier MOVEWORKS_DELIVERY names, paced to that path's limit: 120 a minute org-wide for events, a few a second for listeners. */
export function notifierFor(moveworks: Config['moveworks'], http: HttpClient, log: Logger, now: () => number = Date.now): Notifier {
    const { delivery } = moveworks;
    if (delivery.kind === 'listener') return new ListenerClient(delivery, http, new Pacer(delivery.maxPerSecond, 1_000, now), log, now);
    return new EventsClient(moveworks.baseUrl, delivery, http, new Pacer(moveworks.maxPerMinute, 60_000, now), log, now);
}
