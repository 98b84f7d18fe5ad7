import { describe, expect, it } from 'vitest';
import { isRedisUrl, parseRedisUrl, redisOptionsFromUrl } from './index.js';

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

describe('parseRedisUrl', () => {
  it('tells a plain server, a TLS server and a Sentinel master apart', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'plain', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl('rediss://redis.example:6380')).toEqual({
      kind: 'tls',
      url: 'rediss://redis.example:6380',
    });
    expect(parseRedisUrl('rediss+sentinel://u:p@s1,s2:26380/main?db=2')).toEqual({
      kind: 'sentinel',
      tls: true,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'main',
      username: 'u',
      password: 'p',
      db: 2,
    });
  });

  it('refuses other schemes, unknown topologies, a Sentinel URL without a master name and blanks', () => {
    for (const url of [
      'http://127.0.0.1:6379',
      'redis+cluster://a:7000,b:7001',
      'redis+constructor://x/y',
      'redis+sentinel://s1:26379',
      'redis://',
      'redis://host name:6379',
      'redis+sentinel://s1:26379/main\n',
    ]) {
      expect(parseRedisUrl(url), url).toBeUndefined();
      expect(isRedisUrl(url), url).toBe(false);
    }
  });

  it('refuses, without throwing, a Sentinel URL with bad percent-encoding, a port that is no port or a bad db', () => {
    for (const url of [
      'redis+sentinel://:%ZZ@s1:26379/main',
      'redis+sentinel://s1:26379/ma%E0in',
      'redis+sentinel://s1:abc/main',
      'redis+sentinel://s1:70000/main',
      'redis+sentinel://s1:26379/main?db=x',
    ]) {
      expect(parseRedisUrl(url), url).toBeUndefined();
      expect(isRedisUrl(url), url).toBe(false);
    }
  });
});
