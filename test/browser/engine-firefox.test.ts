// The core scenarios in Firefox ESR (puppeteer-core over WebDriver BiDi), and
// Firefox's own trap: a leader in a background tab with throttled timers.
import {describeCoreScenarios, describeHiddenTabs} from './core-scenarios.js';

describeCoreScenarios('firefox');
describeHiddenTabs('firefox');
