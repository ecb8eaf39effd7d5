#!/usr/bin/env node
console.log('meshbridge');
