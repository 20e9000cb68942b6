import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWorkItem, parseWorkItemList } from '../shared/iiq/workItemXml';
import { Harness, startHarness } from './support/harness';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('reading IdentityIQ work item XML', () => {
    it('reads a single role request with its requester, target and approval item', () => {
        const { workItems } = parseWorkItemList(fixture('90-SYNTHESIZED-list-role-add-single-item.xml'));
        expect(workItems).toHaveLength(1);
        const [{ type, approval }] = workItems;
        expect(type).toBe('Approval');
        expect(approval.lines).toHaveLength(1);
        expect(approval.lines[0]).toMatchObject({ operation: 'Add', application: 'IIQ' });
        expect(approval.requester?.id).toMatch(/^[0-9a-f]{32}$/);
        expect(approval.requestee?.name).toBeTruthy();
    });

    it('reads a workgroup-owned item with several approval items, comments and sunrise/sunset', () => {
        const [{ approval }] = parseWorkItemList(fixture('91-SYNTHESIZED-list-entitlement-add-multi-item-with-comments.xml')).workItems;
        expect(approval.approvers).toEqual([{ id: '0a0000fa91f0163781920943cc9b0a44', name: 'Finance Approvers' }]);
        expect(approval.lines.map((line) => line.value)).toEqual(['Finance-Readers', 'Finance-Writers']);
        expect(approval.lines[0].requesterComment).toBe('Needed for Q3 close');
        expect(approval.lines[1]).toMatchObject({ startDate: 1726790400000, endDate: 1735603200000 });
        expect(approval.comments).toEqual([{ author: 'Allen Burton', text: 'Amy is covering for Bob next month.', date: 1726740120000 }]);
        expect(approval.changedAt).toBe(1726740000000);
    });

    it('reads a forwarded item and keeps the non-approval item type visible for filtering', () => {
        const { workItems } = parseWorkItemList(fixture('92-SYNTHESIZED-list-entitlement-remove-and-forwarded.xml'));
        expect(workItems.map((item) => item.type)).toEqual(['Approval', 'Form']);
        expect(workItems[0].approval.approvers[0].name).toBe('Carol.Jones');
        expect(workItems[0].approval.changedAt).toBe(1726812345678);
    });

    it('reads a single work item document, as the live read before a decision answers it', () => {
        const xml = `<?xml version='1.0' encoding='UTF-8'?><WorkItem id="1" created="1" type="Approval"><Owner><Reference id="o" name="O"/></Owner></WorkItem>`;
        expect(parseWorkItem(xml).approval).toMatchObject({ id: '1', approvers: [{ id: 'o', name: 'O' }] });
    });

    it('reads an empty list', () => {
        expect(parseWorkItemList('<?xml version="1.0"?><!DOCTYPE List PUBLIC "sailpoint.dtd" "sailpoint.dtd"><List/>').workItems).toEqual([]);
    });

    it('decodes character references but never expands entities declared in the document', () => {
        const bomb = `<?xml version="1.0"?><!DOCTYPE List [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<List><WorkItem id="1" created="1" type="Approval"><Description>&b; &amp; &#60;x&#x3e;</Description><Owner><Reference id="o" name="O"/></Owner></WorkItem></List>`;
        const [{ approval }] = parseWorkItemList(bomb).workItems;
        expect(approval.description).toBe('&b; & <x>');
    });

    it('sets aside a work item without an owner and reads the others', () => {
        const xml = `<List><WorkItem id="a" created="1" type="Approval"/><WorkItem id="b" created="2" type="Approval"><Owner><Reference id="o" name="O"/></Owner></WorkItem></List>`;
        const { workItems, unreadable } = parseWorkItemList(xml);
        expect(workItems.map((item) => item.approval.id)).toEqual(['b']);
        expect(unreadable).toEqual(['a']);
    });

    it('refuses malformed XML', () => {
        expect(() => parseWorkItemList('<List><WorkItem id="1"')).toThrow(/malformed XML/);
    });

    it('refuses a page cut off after a whole work item, rather than reading it as a shorter list', () => {
        const page = fixture('91-SYNTHESIZED-list-entitlement-add-multi-item-with-comments.xml');
        const cut = page.slice(0, page.lastIndexOf('</WorkItem>') + '</WorkItem>'.length);
        expect(() => parseWorkItemList(cut)).toThrow(/malformed XML/);
    });

    it('refuses a page truncated mid-element, at any cut, rather than reading it as a shorter list', () => {
        const page = fixture('91-SYNTHESIZED-list-entitlement-add-multi-item-with-comments.xml').trimEnd();
        const midReference = page.indexOf('<Reference') + '<Reference id="0a0000fa'.length;
        expect(() => parseWorkItemList(page.slice(0, midReference))).toThrow(/malformed XML/);
        const accepted = [...page].map((_, cut) => cut).filter((cut) => {
            try {
                parseWorkItemList(page.slice(0, cut));
                return true;
            } catch {
                return false;
            }
        });
        expect(accepted).toEqual([]);
    });

    it('refuses a list cut after whole work items, before the root closes', () => {
        const item = (id: string) => `<WorkItem id="${id}" created="1" type="Approval"><Owner><Reference id="o" name="O"/></Owner></WorkItem>`;
        expect(parseWorkItemList(`<List>${item('a')}${item('b')}</List>`).workItems).toHaveLength(2);
        expect(() => parseWorkItemList(`<?xml version="1.0"?>\n<List>\n${item('a')}\n${item('b')}\n`)).toThrow(/malformed XML/);
        expect(() => parseWorkItemList(`<List>${item('a')}<WorkItem id="b" created="2"/>`)).toThrow(/malformed XML/);
    });

    it('refuses a document with a second root element', () => {
        expect(() => parseWorkItemList('<List/><List><WorkItem id="1" created="1"/></List>')).toThrow(/malformed XML/);
    });

    it('keeps entities declared in the DOCTYPE as written, in attributes too', () => {
        const xml = `<?xml version="1.0"?><!DOCTYPE List [<!ENTITY e "expanded">]>
<List><WorkItem id="1" created="1" type="Approval"><Description>&e;</Description><Owner><Reference id="o" name="&e; &amp;"/></Owner></WorkItem></List>`;
        const [{ approval }] = parseWorkItemList(xml).workItems;
        expect(approval.description).toBe('&e;');
        expect(approval.approvers[0].name).toBe('&e; &');
    });

    it('refuses a page that declares an external entity, rather than reading it', () => {
        const xml = `<?xml version="1.0"?><!DOCTYPE List [<!ENTITY file SYSTEM "file:///etc/hostname">]>
<List><WorkItem id="1" created="1" type="Approval"><Description>&file;</Description><Owner><Reference id="o" name="O"/></Owner></WorkItem></List>`;
        expect(() => parseWorkItemList(xml)).toThrow(/malformed XML/);
    });

    it('decodes each entity and character reference exactly once, in text and attributes', () => {
        const xml = `<List><WorkItem id="1" created="1" type="Approval"><Description>&amp;lt; &amp;#x41; &#x41;&#65; &lt;&gt;&quot;&apos;</Description><Owner><Reference id="o" name="&amp;lt;&amp;amp;"/></Owner></WorkItem></List>`;
        const [{ approval }] = parseWorkItemList(xml).workItems;
        expect(approval.description).toBe(`&lt; &#x41; AA <>"'`);
        expect(approval.approvers[0].name).toBe('&lt;&amp;');
    });

    it('reads CDATA as written, in document order with the text around it', () => {
        const xml = `<List><WorkItem id="1" created="1" type="Approval"><Description> a &amp; <![CDATA[<b>&amp;</b>]]> c </Description><Owner><Reference id="o" name="O"/></Owner></WorkItem></List>`;
        expect(parseWorkItemList(xml).workItems[0].approval.description).toBe('a & <b>&amp;</b> c');
    });

    it('keeps ids and numbers as written', () => {
        const xml = `<List><WorkItem id="000123" name="1e5" created="1" type="Approval"><Owner><Reference id="0x10" name="true"/></Owner></WorkItem></List>`;
        const [{ approval }] = parseWorkItemList(xml).workItems;
        expect(approval).toMatchObject({ id: '000123', number: '1e5', approvers: [{ id: '0x10', name: 'true' }] });
    });

    it('reads characters XML does not allow, raw or as references, as U+FFFD, and keeps the item', () => {
        const xml = `<List><WorkItem id="1" created="1" type="Approval"><Description>a\u0001b&#0;c&#x1;d&#xD800;e&#x1F600;</Description><Owner><Reference id="o" name="O"/></Owner></WorkItem></List>`;
        const [{ approval }] = parseWorkItemList(xml).workItems;
        expect(approval.description).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\u{1F600}');
    });

    it('reads elements named like the properties every object has', () => {
        const xml = `<List><WorkItem id="1" created="1" type="Approval"><constructor/><hasOwnProperty>x</hasOwnProperty><Owner><Reference id="o" name="O"/></Owner></WorkItem></List>`;
        expect(parseWorkItemList(xml).workItems.map((item) => item.approval.id)).toEqual(['1']);
    });

    it('refuses element names that would pollute object prototypes', () => {
        expect(() => parseWorkItemList('<List><WorkItem id="1" created="1"><__proto__ polluted="yes"/></WorkItem></List>')).toThrow();
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('reads attributes and elements named __proto__, constructor or prototype without polluting object prototypes', () => {
        const xml = `<List><WorkItem id="1" created="1" type="Approval" __proto__="x" constructor="y" prototype="z"><Owner __proto__="x"><Reference id="o" name="O" __proto__="x"/></Owner><prototype polluted="yes"/><constructor polluted="yes"><prototype polluted="yes"/></constructor></WorkItem></List>`;
        const [{ approval }] = parseWorkItemList(xml).workItems;
        expect(approval).toMatchObject({ id: '1', approvers: [{ id: 'o', name: 'O' }] });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
        expect(Object.keys(Object.prototype)).toEqual([]);
    });
});

describe('polling through hostile or broken IdentityIQ answers', () => {
    let h: Harness;
    afterEach(() => h.stop());

    it('logs and skips a malformed list, and the next poll works', async () => {
        h = await startHarness();
        h.simulator.failNext('iiq.list', { status: 200, contentType: 'application/xml', body: '<List><WorkItem id="1"' });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(true);
        expect(h.log.entries).toContainEqual(expect.objectContaining({ event: 'sync.listing_failed', level: 'error' }));
        await h.app.poll();
        expect(h.simulator.messages).toHaveLength(3);
    });

    it('refuses a response over MAX_RESPONSE_BYTES without reading it all, and asks again for a smaller page', async () => {
        h = await startHarness({ settings: { MAX_RESPONSE_BYTES: '100000' } });
        h.simulator.failNext('iiq.list', { status: 200, contentType: 'application/xml', body: `<List>${'<!-- padding -->'.repeat(20_000)}</List>` });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(false);
        expect(h.simulator.requests.filter((r) => r.route === 'iiq.list').map((r) => r.url.searchParams.get('limit'))).toEqual(['250', '125']);
        expect(h.simulator.messages).toHaveLength(3);
    });

    it('sets aside an item over MAX_RESPONSE_BYTES even alone, lists the rest, and the next poll finds it again', async () => {
        h = await startHarness({ settings: { MAX_RESPONSE_BYTES: '100000', IIQ_PAGE_SIZE: '1' } });
        h.simulator.failNext('iiq.list', { status: 200, contentType: 'application/xml', body: `<List>${'<!-- padding -->'.repeat(20_000)}</List>` });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(false);
        expect(h.log.entries.filter((entry) => entry.event === 'iiq.list.item_too_large')).toEqual([expect.objectContaining({ offset: 0 })]);
        expect(h.simulator.messages).toHaveLength(2);
        await h.app.poll();
        expect(h.simulator.messages).toHaveLength(3);
    });

    it('notifies an approval whose description holds a control character IdentityIQ let through', async () => {
        h = await startHarness();
        const [real] = [...h.simulator.workItems.values()];
        h.simulator.failNext('iiq.list', { status: 200, contentType: 'application/xml', body: `<List>${h.simulator.workItemXml({ ...real, description: 'Needs\u0007 access' })}</List>` });
        await h.app.poll();
        const [message] = h.simulator.messagesFor(real.id);
        expect(message.message).toContain('Needs\uFFFD access');
    });

    it('does not expand an entity bomb in a list and notifies the readable items', async () => {
        h = await startHarness();
        const [real] = [...h.simulator.workItems.values()];
        const bomb = `<?xml version="1.0"?><!DOCTYPE List [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<List>${h.simulator.workItemXml({ ...real, description: '&c;&c;&c;' }).replace('&amp;c;&amp;c;&amp;c;', '&c;&c;&c;')}</List>`;
        h.simulator.failNext('iiq.list', { status: 200, contentType: 'application/xml', body: bomb });
        await h.app.poll();
        const [message] = h.simulator.messagesFor(real.id);
        expect(message.message).toContain('&amp;c;&amp;c;&amp;c;');
        expect(message.message.length).toBeLessThan(5000);
    });
});
