import { ISC_API_VERSIONS, IscApiVersion } from '../../shared/config';

/** SIMULATOR_ISC_API_VERSION: the ISC API layout the bundled simulator serves (`v1` unless told otherwise). */
export function iscApiVersionFrom(text: string | undefined): IscApiVersion {
    const version = ISC_API_VERSIONS.find((candidate) => candidate === (text ?? 'v1').trim().toLowerCase());
    if (!version) throw new Error(`SIMULATOR_ISC_API_VERSION must be one of ${ISC_API_VERSIONS.join(', ')}`);
    return version;
}

/** How the app reaches Moveworks: a published event (the Events API) or an Agent Studio webhook listener. */
export type MoveworksDelivery = 'events' | 'listener';
const MOVEWORKS_DELIVERIES: readonly MoveworksDelivery[] = ['events', 'listener'];

/** SIMULATOR_MOVEWORKS_DELIVERY: which of the simulator's Moveworks paths the app is pointed at (`events` unless told otherwise). */
export function moveworksDeliveryFrom(text: string | undefined): MoveworksDelivery {
    const delivery = MOVEWORKS_DELIVERIES.find((candidate) => candidate === (text ?? 'events').trim().toLowerCase());
    if (!delivery) throw new Error(`SIMULATOR_MOVEWORKS_DELIVERY must be one of ${MOVEWORKS_DELIVERIES.join(', ')}`);
    return delivery;
}
