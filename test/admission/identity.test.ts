import assert from 'node:assert/strict';
import { impersonatedUser, serviceAccountOf, serviceAccountUser } from '../../src/admission/identity.js';

describe('identities as the API server builds them', () => {
  const cases: { name: string; user: string; groups: string[]; want: string[] }[] = [
    { name: 'A user without groups is system:authenticated.', user: 'alice', groups: [], want: ['system:authenticated'] },
    { name: 'A user with groups gets system:authenticated added at the end.', user: 'alice', groups: ['ml'], want: ['ml', 'system:authenticated'] },
    { name: 'system:authenticated is not added twice.', user: 'alice', groups: ['system:authenticated', 'ml'], want: ['system:authenticated', 'ml'] },
    {
      name: 'A user claiming system:unauthenticated is not made authenticated.',
      user: 'alice',
      groups: ['system:unauthenticated'],
      want: ['system:unauthenticated'],
    },
    { name: 'system:anonymous is never authenticated.', user: 'system:anonymous', groups: [], want: [] },
    {
      name: 'A service account without groups gets its fixed groups.',
      user: 'system:serviceaccount:team-a:runner',
      groups: [],
      want: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
    },
    {
      name: 'A service account with groups keeps the groups given (the API server adds its own only when none are).',
      user: 'system:serviceaccount:team-a:runner',
      groups: ['ml'],
      want: ['ml', 'system:authenticated'],
    },
    { name: 'A malformed service account name is a plain user.', user: 'system:serviceaccount:team-a', groups: [], want: ['system:authenticated'] },
  ];
  for (const t of cases) {
    it(t.name, () => {
      assert.deepEqual(impersonatedUser(t.user, t.groups), { username: t.user, groups: t.want, extra: {} });
    });
  }

  it('Splits service account usernames into namespace and name, and only those.', () => {
    assert.deepEqual(serviceAccountOf('system:serviceaccount:kubeflow:training-operator'), { ns: 'kubeflow', name: 'training-operator' });
    for (const u of ['alice', 'system:serviceaccount:', 'system:serviceaccount:ns', 'system:serviceaccount::n', 'system:serviceaccount:a:b:c']) {
      assert.equal(serviceAccountOf(u), undefined, u);
    }
  });

  it('A service account as its token authenticates it equals the impersonated one.', () => {
    assert.deepEqual(serviceAccountUser('kube-system', 'job-controller'), impersonatedUser('system:serviceaccount:kube-system:job-controller', []));
  });
});
