import { describe, expect, it } from 'vitest';
import { AddressBook } from '../../../raft/driver/address-book.js';

const self = { id: 'n1', host: '127.0.0.1', port: 8081 };
const peers = [{ id: 'n2', host: '127.0.0.1', port: 8082 }, { id: 'n3', host: '127.0.0.1', port: 8083 }];

describe('AddressBook', () => {
  it('lists the known addresses of a configuration, for a snapshot', () => {
    const book = new AddressBook(self, peers);
    expect(book.learn('n4', 'node4.internal:8084')).toBe(true);
    expect(book.addressesOf({ voters: ['n3', 'n1', 'n4'], learners: ['n9'] })).toEqual({
      n1: '127.0.0.1:8081', n3: '127.0.0.1:8083', n4: 'node4.internal:8084',
    });
  });

  it('takes a snapshot\'s addresses except for configured peers and itself; malformed entries are skipped', () => {
    const book = new AddressBook(self, peers);
    expect(book.learn('n4', '10.0.0.4:8084')).toBe(true); // from a conf change in the log
    expect(book.learnFromSnapshot({ n1: '10.9.9.1:1', n2: '10.9.9.9:1', n4: '10.0.0.44:9084', n5: 'bad', n6: '10.0.0.6:70000' })).toBe(1);
    expect(book.get('n1')).toEqual(self);
    expect(book.get('n2')).toEqual(peers[0]);
    expect(book.get('n4')).toEqual({ id: 'n4', host: '10.0.0.44', port: 9084 }); // moved: the snapshot is newer
    expect(book.get('n5')).toBeNull();
    expect(book.get('n6')).toBeNull();
    expect(book.peersOf({ voters: ['n1', 'n2', 'n4'], learners: [] }).map((p) => p.id)).toEqual(['n2', 'n4']);
  });

  it('handles IPv6 hosts: the port is after the last colon', () => {
    const book = new AddressBook({ id: 'n1', host: '::', port: 8081 }, []);
    expect(book.learn('n2', 'fd00::2:8082')).toBe(true);
    expect(book.get('n2')).toEqual({ id: 'n2', host: 'fd00::2', port: 8082 });
    expect(book.learn('n3', 'fd00::3:0')).toBe(false); // port 0
    expect(book.learn('n4', 'a host:8084')).toBe(false);
    expect(book.addressesOf({ voters: ['n1', 'n2'], learners: [] })).toEqual({ n1: ':::8081', n2: 'fd00::2:8082' });
  });
});
