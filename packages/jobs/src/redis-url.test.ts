import { describe, expect, it } from 'vitest';
import { redisOptionsFromUrl } from './index.js';

describe('redisOptionsFromUrl', () => {
  it('passes plain and TLS URLs to ioredis as they are', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1:6379/1')).toBe('redis://127.0.0.1:6379/1');
    expect(redisOptionsFromUrl('rediss://user:pw@redis.example:6380')).toBe(
      'rediss://user:pw@redis.example:6380',
    );
  });

  it('reads Sentinel URLs: sentinels, master name, password, db, TLS', () => {
    expect(redisOptionsFromUrl('redis+sentinel://:s%40cret@10.0.0.1:26380,10.0.0.2/mymaster?db=3')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26380 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      password: 's@cret',
      sentinelPassword: 's@cret',
      db: 3,
    });
    expect(redisOptionsFromUrl('rediss+sentinel://s1:26379/primary')).toMatchObject({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'primary',
      tls: {},
      enableTLSForSentinelMode: true,
    });
  });
});
