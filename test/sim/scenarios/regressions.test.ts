// Paths the random simulator once failed on, replayed exactly.
import { describe, expect, it } from 'vitest';
import { parseCommandPath } from '../replay.js';
import { simulate } from '../run.js';

describe('simulator regressions', () => {
  // A spare was promoted to voter and crashed before it persisted anything (term 0);
  // the other voter could not win without it. The liveness check now restarts every
  // node a configuration counts on, not only nodes with a persisted term.
  it('a promoted spare that crashed with an empty disk is restarted for the liveness check', () => {
    const path = 'tick(node=2) tickAll() tickAll() tick(node=2) deliver(position=0) deliver(position=49) deliver(position=1) deliver(position=41) removeMember(node=1) deliver(position=14) deliver(position=15) propose(node=0,toLeader=true) deliver(position=33) deliver(position=0) deliver(position=0) deliver(position=0) deliver(position=26) addSpare() deliver(position=0) tick(node=2) tick(node=2) deliver(position=0) tickAll() deliver(position=0) deliver(position=0) tickAll() deliver(position=1) deliver(position=55) promoteSpare() crash(node=3) deliver(position=0) tick(node=0) deliver(position=0) tickAll() deliver(position=14) read(node=0) propose(node=0,toLeader=false) propose(node=0,toLeader=false) deliver(position=0) deliver(position=0) removeMember(node=0) deliver(position=0) deliver(position=0) deliver(position=0) deliver(position=0) deliver(position=0) deliver(position=0) deliver(position=0) deliver(position=0) restart(node=0) deliver(position=0) deliver(position=0) deliver(position=0) propose(node=0,toLeader=false) propose(node=0,toLeader=false) removeMember(node=0) restart(node=0) deliver(position=0) tick(node=0) propose(node=0,toLeader=false) restart(node=0) propose(node=0,toLeader=false) deliver(position=0) deliver(position=0) restart(node=0) tick(node=0) deliver(position=0) deliver(position=0) tick(node=0) deliver(position=0) deliver(position=0) crashMidReady(node=0,keepEntries=0,keepHardState=false) tickAll() tick(node=0) deliver(position=0) deliver(position=0) partition(shape=split,node=0) deliver(position=0) partition(shape=split,node=0) read(node=0) heal()';
    const stats = simulate(3, 1029398005, parseCommandPath(path));
    expect(stats.commands).toBe(81);
  });
});
