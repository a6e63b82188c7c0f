import { describe, expect, it } from 'vitest';
import { ConfHistory, applyConfChange, confChangeProblem } from '../../../raft/core/membership.js';

const conf = { voters: ['a', 'b'], learners: ['l'] };

describe('membership rules', () => {
  it('validates one change against the current membership', () => {
    expect(confChangeProblem(conf, { type: 'addLearner', node: 'c' })).toBeNull();
    expect(confChangeProblem(conf, { type: 'addLearner', node: 'a' })).toMatch(/already a member/);
    expect(confChangeProblem(conf, { type: 'addLearner', node: 'l' })).toMatch(/already a member/);
    expect(confChangeProblem(conf, { type: 'promote', node: 'l' })).toBeNull();
    expect(confChangeProblem(conf, { type: 'promote', node: 'a' })).toMatch(/not a learner/);
    expect(confChangeProblem(conf, { type: 'remove', node: 'z' })).toMatch(/not a member/);
    expect(confChangeProblem({ voters: ['a'], learners: [] }, { type: 'remove', node: 'a' })).toMatch(/last voter/);
  });

  it('applies changes', () => {
    expect(applyConfChange(conf, { type: 'promote', node: 'l' })).toEqual({ voters: ['a', 'b', 'l'], learners: [] });
    expect(applyConfChange(conf, { type: 'remove', node: 'a' })).toEqual({ voters: ['b'], learners: ['l'] });
    expect(applyConfChange(conf, { type: 'addLearner', node: 'c' })).toEqual({ voters: ['a', 'b'], learners: ['c', 'l'] });
  });

  it('history reports the membership in force at an index, also after compaction', () => {
    const history = new ConfHistory(conf);
    history.record(5, { voters: ['a', 'b', 'l'], learners: [] });
    history.record(9, { voters: ['a', 'l'], learners: [] });
    expect(history.at(4)).toEqual(conf);
    expect(history.at(5).voters).toEqual(['a', 'b', 'l']);
    expect(history.at(100).voters).toEqual(['a', 'l']);
    history.compact(6);
    expect(history.at(6).voters).toEqual(['a', 'b', 'l']);
    expect(history.current().voters).toEqual(['a', 'l']);
  });
});
