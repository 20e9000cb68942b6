/** https, or http to this machine only (tests, the simulator). */
export const isSafeKeyUrl = (value: string) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
};
