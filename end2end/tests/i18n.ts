import { test } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The UI's words in the tests: every flow runs once per language (the Playwright projects `en`
 * and `zh-CN`, whose browsers ask for that language), and finds texts by their translation keys
 * in app/locales, the same catalog the app is built from.
 */
export type Lang = 'en' | 'zh-CN';

const root = path.join(__dirname, '..', '..', 'app', 'locales');

function load(language: Lang): Record<string, unknown> {
  const catalog: Record<string, unknown> = {};
  for (const file of fs.readdirSync(path.join(root, language))) {
    if (file.endsWith('.json')) {
      catalog[file.replace(/\.json$/, '')] = JSON.parse(fs.readFileSync(path.join(root, language, file), 'utf8'));
    }
  }
  return catalog;
}

const catalogs: Record<Lang, Record<string, unknown>> = { en: load('en'), 'zh-CN': load('zh-CN') };

/** The language of the running test (its project). */
export function lang(): Lang {
  return test.info().project.name === 'zh-CN' ? 'zh-CN' : 'en';
}

function raw(key: string, language: Lang): string {
  let value: unknown = catalogs[language];
  for (const part of key.split('.')) {
    value = (value as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof value !== 'string') throw new Error(`no text ${key} in ${language}`);
  return value;
}

/** A text in the running test's language, its `{{ placeholders }}` filled in. */
export function t(key: string, vars: Record<string, string | number> = {}, language: Lang = lang()): string {
  return raw(key, language).replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/**
 * A text as a pattern: placeholders given are filled in (a RegExp value is a pattern of its own,
 * e.g. another `tx`), the others match anything.
 */
export function tx(key: string, vars: Record<string, string | number | RegExp> = {}, language: Lang = lang()): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const parts = raw(key, language).split(/(\{\{\s*\w+\s*\}\})/);
  const pattern = parts
    .map((part) => {
      const name = part.match(/^\{\{\s*(\w+)\s*\}\}$/)?.[1];
      if (!name) return escape(part);
      if (!(name in vars)) return '.*?';
      const value = vars[name];
      return value instanceof RegExp ? `(?:${value.source})` : escape(String(value));
    })
    .join('');
  return new RegExp(pattern);
}

/** A model value's words (a state, an operation, a role) as the UI shows them. */
export function state(name: string): string {
  return t(`common.state.${name}`);
}
