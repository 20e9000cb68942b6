import { ISC_API_VERSIONS, IscApiVersion } from '../../shared/config';

/** SIMULATOR_ISC_API_VERSION: the ISC API layout the bundled simulator serves (`v1` unless told otherwise). */
export function iscApiVersionFrom(text: string | undefined): IscApiVersion {
    const version = ISC_API_VERSIONS.find((candidate) => candidate === (text ?? 'v1').trim().toLowerCase());
    if (!version) throw new Error(`SIMULATOR_ISC_API_VERSION must be one of ${ISC_API_VERSIONS.join(', ')}`);
    return version;
}
